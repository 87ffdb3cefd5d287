"""`trafficwatch provision ...`: the field technician's commands (Typer, rich output, `--json`).

Each `trafficwatch provision <name>` reaches `run(name, argv)` through the command tree
(`trafficwatch/commands.py`); exit codes are in `provisioning/errors.py`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from provisioning import errors
from provisioning.errors import ProvisionError
from provisioning.files import DEFAULT_CONFIG, DEFAULT_STATE_DIR
from provisioning.output import emit_json, error, step, summary

app = typer.Typer(
    name="trafficwatch provision",
    help="Công cụ kỹ thuật viên / the technician's tools: enrol, configure, calibrate, check.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

ConfigOpt = Annotated[
    Path, typer.Option("--config", help="Tệp cấu hình YAML / the box's config file")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="In JSON / print one JSON object")]


def _finish(title: str, result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json({"ok": True, **result})
    else:
        summary(title, result)


@app.command()
def enroll(
    server: Annotated[str, typer.Option(help="Địa chỉ máy chủ / server URL (https://...)")],
    token: Annotated[str, typer.Option(help="Mã đăng ký một lần / one-time enrolment token")],
    config: ConfigOpt = DEFAULT_CONFIG,
    state_dir: Annotated[
        Path, typer.Option(help="Thư mục dữ liệu / state folder (outbox)")
    ] = DEFAULT_STATE_DIR,
    server_ca: Annotated[
        str | None, typer.Option(help="CA của máy chủ HTTPS / the server's HTTPS CA (PEM)")
    ] = None,
    device_id: Annotated[str | None, typer.Option(help="Mã thiết bị đề xuất / device id")] = None,
    camera_id: Annotated[str | None, typer.Option(help="Mã camera / camera id")] = None,
    lat: Annotated[float | None, typer.Option(help="Vĩ độ camera / latitude")] = None,
    lon: Annotated[float | None, typer.Option(help="Kinh độ camera / longitude")] = None,
    camera_source: Annotated[
        str | None, typer.Option(help="Nguồn camera / camera source (rtsp://..., 0, file)")
    ] = None,
    camera_kind: Annotated[str | None, typer.Option(help="rtsp, usb, file, picamera2")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Đăng ký thiết bị / enrol the box: make its key here, register it, write the config."""
    from provisioning.enroll import EnrolOptions
    from provisioning.enroll import enroll as do_enroll

    opts = EnrolOptions(
        server=server,
        token=token,
        config_path=config,
        state_dir=state_dir,
        server_ca=server_ca,
        device_id=device_id,
        camera_id=camera_id,
        lat=lat,
        lon=lon,
        camera_source=camera_source,
        camera_kind=camera_kind,
    )
    with step("Đang đăng ký với máy chủ / enrolling with the server ...", as_json):
        result = do_enroll(opts)
    _finish("Đã đăng ký / enrolled", result, as_json)


@app.command("config")
def config_cmd(
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="KHÓA=GIÁ_TRỊ / KEY=VALUE (repeat)")
    ] = None,
    unset: Annotated[
        list[str] | None, typer.Option(help="Bỏ khóa, dùng mặc định / drop a key (repeat)")
    ] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from", help="Thay toàn bộ bằng tệp / replace with a file")
    ] = None,
    show: Annotated[bool, typer.Option(help="In cấu hình / print the config YAML")] = False,
    upload: Annotated[
        bool, typer.Option(help="Gửi lưu trữ lên máy chủ / archive on the server")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Ghi/sửa cấu hình / write or edit the box's YAML config, validated with the schema."""
    from provisioning.config_steps import edit_config

    result = edit_config(config, set_ or [], unset or [], from_file, upload)
    text = result.pop("yaml")
    if show and not as_json:
        typer.echo(text, nl=False)
    _finish("Cấu hình / config", result, as_json)


@app.command()
def calibrate(
    config: ConfigOpt = DEFAULT_CONFIG,
    image: Annotated[
        Path | None, typer.Option(help="Ảnh thay cho camera / a picture instead of the camera")
    ] = None,
    from_yaml: Annotated[
        Path | None, typer.Option(help="Tệp YAML hiệu chỉnh / calibration YAML file")
    ] = None,
    stop_line: Annotated[str | None, typer.Option(help='Vạch dừng / "x1,y1 x2,y2"')] = None,
    stop_direction: Annotated[
        float | None, typer.Option(help="Hướng qua vạch dừng, độ / direction across, degrees")
    ] = None,
    lane: Annotated[
        list[str] | None,
        typer.Option(help='Làn / "ID: x,y x,y x,y | classes=car | direction=270 | one_way"'),
    ] = None,
    solid_line: Annotated[list[str] | None, typer.Option(help='Vạch liền / "ID: x,y x,y"')] = None,
    light: Annotated[
        str | None, typer.Option(help='Vùng đèn / "x1,y1,x2,y2 [| horizontal]"')
    ] = None,
    rules: Annotated[
        str | None, typer.Option(help="Bật luật / enable rules: red_light,solid_line,...")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Ảnh PNG kiểm tra / the PNG to check (calibration.png)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Chỉ vẽ, không lưu / draw only, store nothing")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Hiệu chỉnh / calibrate: stop line, lanes, solid lines, light region, drawn on a snapshot."""
    from provisioning.calibrate import CalibrationFlags, CalibrationRun, parse_rules
    from provisioning.calibrate import calibrate as do_calibrate

    run = CalibrationRun(
        config_path=config,
        flags=CalibrationFlags(
            from_yaml=from_yaml,
            stop_line=stop_line,
            stop_direction_deg=stop_direction,
            lanes=lane or [],
            solid_lines=solid_line or [],
            light=light,
        ),
        rules=parse_rules(rules) if rules is not None else None,
        image=image,
        output=output,
        dry_run=dry_run,
    )
    with step("Đang chụp và vẽ / taking the snapshot and drawing ...", as_json):
        result = do_calibrate(run)
    _finish("Hiệu chỉnh / calibration", result, as_json)


@app.command()
def check(
    config: ConfigOpt = DEFAULT_CONFIG,
    camera_seconds: Annotated[
        float, typer.Option(help="Đọc camera bao lâu, giây / seconds of frames")
    ] = 3.0,
    models_dir: Annotated[Path | None, typer.Option(help="Thư mục mô hình / models")] = None,
    manifest: Annotated[Path | None, typer.Option(help="Manifest mô hình / model manifest")] = None,
    ntp_server: Annotated[
        str | None, typer.Option(help="Máy chủ NTP / NTP server (host[:port])")
    ] = None,
    max_clock_offset: Annotated[
        float, typer.Option(help="Độ lệch giờ cho phép, giây / allowed offset, s")
    ] = 1.0,
    timeout: Annotated[float, typer.Option(help="Chờ mạng, giây / network timeout, s")] = 5.0,
    skip: Annotated[
        list[str] | None, typer.Option(help="Bỏ qua / skip: camera, models, broker, ...")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Kiểm tra thiết bị / check the box: camera, models, broker, server, clock, disk."""
    from provisioning.check import NAMES, failed, run_checks
    from provisioning.checks.base import CheckOptions
    from provisioning.output import check_table, console

    unknown = sorted(set(skip or []) - set(NAMES))
    if unknown:
        raise ProvisionError(errors.USAGE, f"--skip {unknown}: chọn / choose from {list(NAMES)}")
    options = CheckOptions(
        camera_seconds=camera_seconds,
        models_dir=models_dir,
        manifest=manifest,
        ntp_server=ntp_server,
        max_clock_offset_s=max_clock_offset,
        network_timeout_s=timeout,
        skip=frozenset(skip or []),
    )
    if as_json:
        results = run_checks(config, options)
    else:
        with console.status("Đang kiểm tra / checking ...") as status:
            results = run_checks(config, options, on_start=lambda n: status.update(f"{n} ..."))
    bad = failed(results)
    if as_json:
        emit_json({"ok": not bad, "checks": [r.as_dict() for r in results]})
    else:
        check_table(results)
    raise typer.Exit(errors.CHECK_FAILED if bad else errors.OK)


@app.command("install-service")
def install_service(
    config: ConfigOpt = DEFAULT_CONFIG,
    user: Annotated[str, typer.Option(help="Người dùng của dịch vụ / service user")] = (
        "trafficwatch"
    ),
    name: Annotated[str, typer.Option(help="Tên dịch vụ / unit name")] = "trafficwatch-agent",
    unit_dir: Annotated[Path, typer.Option(help="Thư mục unit / unit folder")] = Path(
        "/etc/systemd/system"
    ),
    models_dir: Annotated[Path, typer.Option(help="Thư mục mô hình / models")] = Path(
        "/var/lib/trafficwatch/models"
    ),
    executable: Annotated[
        str | None, typer.Option(help="Lệnh trafficwatch / the trafficwatch command")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Chỉ in unit / print the unit only")] = False,
    start: Annotated[bool, typer.Option(help="Bật và chạy ngay / enable and start")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Cài dịch vụ systemd / install the agent as a hardened systemd service."""
    from provisioning.config_steps import load_valid
    from provisioning.service_unit import ServiceOptions, install, render_unit, unit_path

    device_config = load_valid(config)
    opts = ServiceOptions(config, user, name, executable, models_dir, unit_dir)
    if dry_run:
        text = render_unit(device_config, opts)
        if as_json:
            emit_json({"ok": True, "unit_path": str(unit_path(opts)), "unit": text})
        else:
            typer.echo(text, nl=False)
        return
    with step("Đang cài dịch vụ / installing the service ...", as_json):
        path = install(device_config, opts, start=start)
    _finish("Dịch vụ / service", {"unit": str(path), "started": start}, as_json)


@app.command("rotate-key")
def rotate_key(
    config: ConfigOpt = DEFAULT_CONFIG,
    service: Annotated[
        str | None,
        typer.Option(help="Dừng/chạy lại dịch vụ này quanh việc đổi khóa / stop and restart it"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Đổi khóa thiết bị / rotate the device key (valid from the next sequence number)."""
    from provisioning.config_steps import load_valid
    from provisioning.rotate import rotate

    device_config = load_valid(config)
    with step("Đang đổi khóa / rotating the key ...", as_json):
        result = rotate(device_config, config, service)
    _finish("Đã đổi khóa / key rotated", result, as_json)


def run(name: str, argv: list[str]) -> int:
    """Run one provision command with `argv`; returns its exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    command = typer.main.get_command(app)
    as_json = "--json" in argv
    try:
        result = command.main(
            args=[name, *argv], prog_name="trafficwatch provision", standalone_mode=False
        )
    except ProvisionError as exc:
        return error(exc, as_json)
    except click.exceptions.Abort:
        return 130
    except click.ClickException as exc:
        exc.show()
        return errors.USAGE
    return result if isinstance(result, int) else errors.OK


def enroll_main(argv: list[str]) -> int:
    """`trafficwatch provision enroll`."""
    return run("enroll", argv)


def config_main(argv: list[str]) -> int:
    """`trafficwatch provision config`."""
    return run("config", argv)


def calibrate_main(argv: list[str]) -> int:
    """`trafficwatch provision calibrate`."""
    return run("calibrate", argv)


def check_main(argv: list[str]) -> int:
    """`trafficwatch provision check`."""
    return run("check", argv)


def install_service_main(argv: list[str]) -> int:
    """`trafficwatch provision install-service`."""
    return run("install-service", argv)


def rotate_key_main(argv: list[str]) -> int:
    """`trafficwatch provision rotate-key`."""
    return run("rotate-key", argv)
