"""The one error class: expected outcomes keep their status and bilingual message; others 500."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from central_server.errors import AppError, install_error_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/conflict")
    def conflict() -> None:
        raise AppError(
            409,
            "invalid_transition",
            "Không thể duyệt.",
            "Cannot approve.",
            detail={"status": "approved"},
        )

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    return app


def test_an_app_error_answers_with_its_status_and_both_languages() -> None:
    response = TestClient(_app()).get("/conflict")
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "invalid_transition",
            "message_vi": "Không thể duyệt.",
            "message_en": "Cannot approve.",
            "detail": {"status": "approved"},
        }
    }


def test_an_unexpected_error_is_a_uniform_500_without_internals() -> None:
    response = TestClient(_app(), raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret" not in response.text
