"""The Vietnamese search page: a form, the published cases, escaped, no external assets."""

from __future__ import annotations

from central_server.models import ViolationStatus
from tests.central_server.api.harness import ApiEnv
from tests.central_server.public.conftest import Publish


def test_the_empty_page_is_a_vietnamese_form_without_external_assets(public_env: ApiEnv) -> None:
    response = public_env.client().get("/tra-cuu")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert 'lang="vi"' in page and "Biển kiểm soát" in page and "Loại phương tiện" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_the_page_shows_the_published_cases(public_env: ApiEnv, publish: Publish) -> None:
    publish(ViolationStatus.penalized, plate_text="73A12345", plate_printed="73A-123.45")
    page = public_env.client().get("/tra-cuu", params={"bien_so": "73a 123 45"}).text
    assert "Tìm thấy 1 vi phạm" in page
    assert "73A-123.45" in page and "Đã xử phạt" in page and "Nơi giải quyết vụ việc" in page
    missing = public_env.client().get("/tra-cuu", params={"bien_so": "73A99999"}).text
    assert "Không tìm thấy vi phạm" in missing


def test_the_page_escapes_what_it_echoes(public_env: ApiEnv) -> None:
    response = public_env.client().get("/tra-cuu", params={"bien_so": "<b>x</b>"})
    assert response.status_code == 422
    assert "<b>x</b>" not in response.text and "&lt;b&gt;" in response.text
    assert "Biển số không hợp lệ" in response.text
