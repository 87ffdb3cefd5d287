"""The load side of the ingest benchmark (`ingest.py`): simulated boxes and a counting subscriber.

Run by `ingest.py` as child processes, one JSON line of results each on stdout:

- `boxes`: drives several device identities, each its own paho client (QoS 1, the reference
  packet in chunks). Modes: `saturate` (each box sends as soon as fewer than `--in-flight` of its
  packets lack a signed ack), `rate` (each box sends every `--interval` seconds: latency is
  measured below saturation), `broker` (no ingest: in flight is bounded by PUBACKs instead).
  Acks are verified against the server key; latency runs from the first chunk's publish to the
  verified ack.
- `counter`: subscribes to every box's evidence topic and only counts what arrives.

Lightweight on purpose: a full outbox and publisher per box (SQLite, fsync per packet) would
measure the boxes' disks, not the ingest; the wire traffic is the same.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent))
import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from reference import reference_packet  # noqa: E402  (puts the project root first)

from protocol.ack import open_ack  # noqa: E402
from protocol.chunks import split_packet  # noqa: E402
from protocol.errors import ProtocolError  # noqa: E402
from protocol.keys import (  # noqa: E402
    Ed25519PrivateKey,
    Ed25519PublicKey,
    private_key_from_seed,
    public_key_from_raw,
)
from protocol.topics import Topics  # noqa: E402

MQTT_INFLIGHT = 20  # paho's default window of QoS 1 messages awaiting PUBACK


def device_id(index: int) -> str:
    """The benchmark's device ids."""
    return f"bench-{index:03d}"


def device_key(index: int) -> Ed25519PrivateKey:
    """BENCHMARK-ONLY keys from public seeds: they prove nothing; never enrol a real box."""
    return private_key_from_seed(hashlib.sha256(f"tw-bench-device-{index}".encode()).digest())


class Box:
    """One simulated box: a paho client, its packets in flight and the acks it verified."""

    def __init__(self, index: int, args: argparse.Namespace, server_key: Ed25519PublicKey) -> None:
        self.device_id = device_id(index)
        self.key = device_key(index)
        self.args = args
        self.topics = Topics(args.prefix)
        self.server_key = server_key
        self.seq = args.seq_base
        self.lock = threading.Lock()
        self.sent: dict[uuid.UUID, float] = {}  # packet id -> first publish (monotonic)
        self.waiting: list[mqtt.MQTTMessageInfo] = []  # broker mode: last chunk of each packet
        self.acks: list[tuple[float, float]] = []  # (sent, verified)
        self.bad_acks = 0
        self.repeated_acks = 0
        self.wake = args.wake
        client_id = f"{self.device_id}-{args.mode}-{uuid.uuid4().hex[:6]}"
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.max_inflight_messages_set(MQTT_INFLIGHT)
        self.client.on_message = self._on_message
        self.client.connect(args.mqtt_host, args.mqtt_port, keepalive=60)
        if args.mode != "broker":
            self.client.subscribe(self.topics.ack(self.device_id), qos=1)
        self.client.loop_start()

    def in_flight(self) -> int:
        """Packets sent and not yet answered (acked, or PUBACKed in broker mode)."""
        with self.lock:
            if self.args.mode == "broker":
                self.waiting = [i for i in self.waiting if not i.is_published()]
                return len(self.waiting)
            return len(self.sent)

    def send(self) -> None:
        """Make the next reference packet and publish its chunks (QoS 1)."""
        header, data = reference_packet(self.key, self.seq, self.device_id)
        self.seq += 1
        chunks = split_packet(header.packet_id, data, self.args.chunk_size)
        with self.lock:
            self.sent[header.packet_id] = time.monotonic()
        topic = self.topics.evidence(self.device_id)
        infos = [self.client.publish(topic, chunk, qos=1) for chunk in chunks]
        if self.args.mode == "broker":
            with self.lock:
                self.sent.pop(header.packet_id)
                self.waiting.append(infos[-1])

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        try:
            ack = open_ack(message.payload, self.server_key)
        except ProtocolError:
            self.bad_acks += 1
            return
        with self.lock:
            if ack.device_id != self.device_id or ack.reason is not None:
                self.bad_acks += 1
                return
            sent = self.sent.pop(ack.packet_id, None)
            if sent is None:  # a second ack for an answered packet (QoS 1, or two workers)
                self.repeated_acks += 1
            else:
                self.acks.append((sent, now))
        self.wake.set()

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def _drive(boxes: list[Box], args: argparse.Namespace) -> None:
    """Send until the deadline: as acks allow, or on each box's schedule."""
    end = time.monotonic() + args.seconds
    due = [time.monotonic() + args.interval * i / len(boxes) for i in range(len(boxes))]
    while (now := time.monotonic()) < end:
        sent_any = False
        for i, box in enumerate(boxes):
            if args.mode == "rate":
                if now >= due[i] and box.in_flight() < args.in_flight:
                    box.send()
                    due[i] += args.interval
                    sent_any = True
            elif box.in_flight() < args.in_flight:
                box.send()
                sent_any = True
        if not sent_any:
            args.wake.wait(0.002)
            args.wake.clear()


def run_boxes(args: argparse.Namespace) -> int:
    """Drive boxes `first` .. `first + count - 1`; print their results as one JSON line."""
    args.wake = threading.Event()
    server_key = public_key_from_raw(bytes.fromhex(args.server_key or "00" * 32))
    boxes = [Box(i, args, server_key) for i in range(args.first, args.first + args.count)]
    time.sleep(1.0)  # every CONNACK and SUBACK in before the clock starts
    started = time.monotonic()
    _drive(boxes, args)
    time.sleep(args.grace)  # the answers to what is still in flight
    for box in boxes:
        box.close()
    result = {
        "started": started,
        "acks": [a for box in boxes for a in box.acks],
        "sent": sum(box.seq - args.seq_base for box in boxes),
        "bad_acks": sum(box.bad_acks for box in boxes),
        "repeated_acks": sum(box.repeated_acks for box in boxes),
    }
    print(json.dumps(result))
    return 0


def run_counter(args: argparse.Namespace) -> int:
    """Count evidence messages (arrival times) until SIGTERM; print them as one JSON line."""
    stop = threading.Event()
    times: list[float] = []

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-count-{uuid.uuid4().hex[:8]}"
    )
    client.on_message = lambda _c, _u, _m: times.append(time.monotonic())
    subscribed = threading.Event()
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect(args.mqtt_host, args.mqtt_port, keepalive=60)
    client.subscribe(args.subscription, qos=1)
    client.loop_start()
    subscribed.wait(10)
    print("ready", flush=True)
    stop.wait()
    client.disconnect()
    client.loop_stop()
    print(json.dumps({"times": times}))
    return 0


def parser() -> argparse.ArgumentParser:
    """The children's command line (given by ingest.py)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("role", choices=("boxes", "counter"))
    p.add_argument("--mqtt-host", default="127.0.0.1")
    p.add_argument("--mqtt-port", type=int, default=1883)
    p.add_argument("--prefix", default="tw/v1")
    p.add_argument("--subscription", default="")
    p.add_argument("--server-key", default="")
    p.add_argument("--mode", choices=("saturate", "rate", "broker"), default="saturate")
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--seq-base", type=int, default=0)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--in-flight", type=int, default=1)
    p.add_argument("--chunk-size", type=int, default=256 * 1024)
    p.add_argument("--grace", type=float, default=5.0)
    return p


def main() -> int:
    """Run one child role."""
    args = parser().parse_args()
    return run_boxes(args) if args.role == "boxes" else run_counter(args)


if __name__ == "__main__":
    sys.exit(main())
