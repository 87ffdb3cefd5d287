"""`trafficwatch server ...`: the API, the ingest, the all-in-one mode and migrations."""

from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from central_server import db
from central_server.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def _setup_logging(verbose: bool = False) -> None:
    """One log format for every server process."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _require_current_schema(settings: Settings, *, unreachable_ok: bool = False) -> bool:
    """Refuse to serve on a database whose schema is not at the migration head, or (unless
    `unreachable_ok`: the ingest waits for its database itself) that cannot be reached."""
    engine = db.make_engine(settings.database_url)
    try:
        if db.check_schema_current(engine):
            return True
    except OperationalError as exc:
        if unreachable_ok:
            logger.warning("database unreachable, schema not checked yet: %s", exc.orig)
            return True
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        print(
            f"Không kết nối được CSDL / cannot reach the database {shown}: {exc.orig}",
            file=sys.stderr,
        )
        return False
    finally:
        engine.dispose()
    print(
        "Lược đồ CSDL chưa cập nhật / the database schema is not at the current migration: "
        "run `trafficwatch server migrate` first.",
        file=sys.stderr,
    )
    return False


def migrate(argv: list[str]) -> int:
    """Apply every pending migration (alembic upgrade head)."""
    parser = argparse.ArgumentParser(
        prog="trafficwatch server migrate", description=migrate.__doc__
    )
    parser.parse_args(argv)
    _setup_logging()
    settings = get_settings()
    db.upgrade(settings.database_url)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    print(f"Đã cập nhật lược đồ / schema at head: {shown}")
    return 0


def api(argv: list[str]) -> int:
    """Serve the web UI and the APIs with uvicorn."""
    parser = argparse.ArgumentParser(prog="trafficwatch server api", description=api.__doc__)
    parser.add_argument("--host", default=None, help="listen address (default TW_API_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port (default TW_API_PORT)")
    args = parser.parse_args(argv)
    _setup_logging()
    settings = get_settings()
    if not _require_current_schema(settings):
        return 1
    import uvicorn

    from central_server.app import create_app

    uvicorn.run(
        create_app(settings),
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        log_level="info",
    )
    return 0


def ingest(argv: list[str]) -> int:
    """Run the MQTT evidence ingest, and the device control client, in this process."""
    from central_server.devices.control import control_running
    from central_server.ingest.runner import main as ingest_main

    if {"-h", "--help"} & set(argv):
        return ingest_main(argv)
    settings = get_settings()
    # Checked here too: the control client starts first and must not touch an old schema.
    if not _require_current_schema(settings, unreachable_ok=True):
        return 1
    with control_running(settings):
        return ingest_main(argv)


def run_all(argv: list[str]) -> int:
    """API, ingest and scheduler in one process, for a small site; migrations applied first."""
    parser = argparse.ArgumentParser(prog="trafficwatch server all", description=run_all.__doc__)
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    _setup_logging()
    settings = get_settings()
    db.upgrade(settings.database_url)
    import uvicorn

    from central_server.app import create_app
    from central_server.devices.control import control_running
    from central_server.ingest.runner import IngestService
    from central_server.scheduler.runner import SchedulerService
    from central_server.server_keys import load_or_create_server_key

    engine = db.make_engine(settings.database_url)
    scheduler = SchedulerService(engine, load_or_create_server_key(settings.server_key_path))
    service = IngestService(settings)
    service.start()
    scheduler.start()
    try:
        with control_running(settings):
            uvicorn.run(
                create_app(settings),
                host=args.host or settings.api_host,
                port=args.port or settings.api_port,
            )
    finally:
        # Reverse start order.
        scheduler.stop()
        service.stop()
        engine.dispose()
    return 0
