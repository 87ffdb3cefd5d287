from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from sqlmodel import select

from central_server.accounts.cli import main
from central_server.accounts.models import User
from central_server.models import AuditEvent
from central_server.settings import get_settings
from tests.fixtures.db import Database

PASSWORD = "Cá kho tộ với cơm nguội lúc nửa đêm"


@pytest.fixture
def cli_env(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The command reads its database from the environment, like in production."""
    monkeypatch.setenv("TW_DATABASE_URL", db.url)
    monkeypatch.setenv("TW_ENV_FILE", "/nonexistent.env")
    monkeypatch.setenv("TW_ARGON2_MEMORY_KIB", "8")
    monkeypatch.setenv("TW_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("TW_ARGON2_PARALLELISM", "1")
    monkeypatch.setenv("TW_SECRET_KEY", "k" * 40)
    get_settings.cache_clear()
    from central_server.accounts.settings import get_auth_settings

    get_auth_settings.cache_clear()
    yield db
    get_settings.cache_clear()
    get_auth_settings.cache_clear()


def test_create_admin_makes_an_audited_administrator(
    cli_env: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code = main(["--username", "quantri", "--full-name", "Lê Văn Hùng", "--password-stdin"])
    assert code == 0
    assert "quantri" in capsys.readouterr().out
    with cli_env.session() as session:
        user = session.exec(select(User)).one()
        event = session.exec(select(AuditEvent)).one()
    assert user.roles == ["admin"] and user.password_hash.startswith("$argon2id$")
    assert (event.action, event.actor) == ("user.created", "system:cli")


def test_create_admin_refuses_a_weak_password(
    cli_env: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("admin1234567\n"))
    assert main(["--username", "quantri", "--password-stdin"]) == 1
    err = capsys.readouterr().err
    assert "Mật khẩu" in err and "password" in err


def test_create_admin_refuses_a_taken_name(
    cli_env: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for expected in (0, 1):
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        assert main(["--username", "quantri", "--password-stdin"]) == expected
    assert "đã được dùng" in capsys.readouterr().err
