"""The role × route matrix, generated from the app's routes.

Every route must declare its permission (`Requires(...)`) or that it is public (`PUBLIC`), and
appear in EXPECTED below, the reviewed table of who may call what: a new route without either
fails here. Then every route is called without credentials (401 for the API; a redirect to the
login page for HTML pages, once there are any) and as a user of each single role (403 exactly
when the table says so).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import Mount, Route

from central_server.accounts.dependencies import PublicRoute, Requires
from central_server.roles import Role
from tests.central_server.api.harness import ApiEnv

R = Role
ALL = frozenset(Role)
CASE_READERS = ALL - {R.technician}
EVIDENCE = frozenset({R.admin, R.operator, R.police_officer, R.police_lead})
TRANSITION = EVIDENCE
POLICE = frozenset({R.police_officer, R.police_lead})
EXPORT = frozenset({R.admin, R.police_officer, R.police_lead})
OPERATOR = frozenset({R.operator})
ADMIN = frozenset({R.admin})
AUDIT = frozenset({R.admin, R.auditor})
DEVICE_OPS = frozenset({R.admin, R.technician})
PUBLIC = "public"

V = "/api/v1/violations/{violation_id}"
EXPECTED: dict[str, frozenset[Role] | str] = {
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,
    # Prometheus scrapes with its own bearer token (TW_METRICS_TOKEN), not a staff account.
    "GET /metrics": PUBLIC,
    "POST /api/v1/auth/login": PUBLIC,
    "POST /api/v1/auth/logout": ALL,
    "GET /api/v1/auth/me": ALL,
    "POST /api/v1/auth/me/password": ALL,
    "POST /api/v1/auth/me/totp": ALL,
    "POST /api/v1/auth/me/totp/confirm": ALL,
    "GET /api/v1/auth/me/tokens": ALL,
    "POST /api/v1/auth/me/tokens": ALL,
    "DELETE /api/v1/auth/me/tokens/{token_id}": ALL,
    "GET /api/v1/violations": CASE_READERS,
    f"GET {V}": CASE_READERS,
    f"GET {V}/media/{{role}}": EVIDENCE,
    f"PUT {V}/plate": OPERATOR,
    f"POST {V}/transitions": TRANSITION,
    "GET /api/v1/review/queue": OPERATOR,
    "POST /api/v1/review/next": OPERATOR,
    f"POST {V}/claim": OPERATOR,
    f"POST {V}/claim/renew": OPERATOR,
    f"DELETE {V}/claim": OPERATOR,
    f"GET {V}/records": CASE_READERS,
    f"POST {V}/records": POLICE,
    f"GET {V}/export": EXPORT,
    "GET /api/v1/roles": ADMIN,
    "GET /api/v1/users": ADMIN,
    "POST /api/v1/users": ADMIN,
    "GET /api/v1/users/{user_id}": ADMIN,
    "PATCH /api/v1/users/{user_id}": ADMIN,
    "POST /api/v1/users/{user_id}/password": ADMIN,
    "POST /api/v1/users/{user_id}/unlock": ADMIN,
    "POST /api/v1/users/{user_id}/totp/reset": ADMIN,
    "GET /api/v1/units": ALL,
    "POST /api/v1/units": ADMIN,
    "GET /api/v1/units/{unit_id}": ALL,
    "PUT /api/v1/units/{unit_id}": ADMIN,
    "GET /api/v1/sites": ALL,
    "POST /api/v1/sites": ADMIN,
    "GET /api/v1/sites/{site_id}": ALL,
    "PUT /api/v1/sites/{site_id}": ADMIN,
    "GET /api/v1/reason-codes": CASE_READERS,
    "PUT /api/v1/reason-codes/{code}": ADMIN,
    "GET /api/v1/holidays": ALL,
    "PUT /api/v1/holidays/{day}": ADMIN,
    "DELETE /api/v1/holidays/{day}": ADMIN,
    "GET /api/v1/deadline-rules": ALL,
    "POST /api/v1/deadline-rules": ADMIN,
    "GET /api/v1/audit/events": AUDIT,
    "GET /api/v1/audit/verify": AUDIT,
    "GET /api/v1/reports": frozenset({R.admin, R.leader}),
    "POST /api/v1/reports": frozenset({R.admin, R.leader}),
    "GET /api/v1/reports/{report_id}/{fmt}": frozenset({R.admin, R.leader}),
    # Fleet health (issue 12): every staff role sees it; acknowledging an alarm is an admin's.
    "GET /api/v1/devices": ALL,
    "GET /api/v1/devices/alarms": ALL,
    "POST /api/v1/devices/alarms/{alarm_id}/acknowledge": DEVICE_OPS,
    "GET /api/v1/devices/{device_id}/health": ALL,
    # Remote configuration and commands (issue 12): every role reads a box's config (camera
    # passwords masked); pushing a config and commanding a box are an admin's.
    "POST /api/v1/devices/{device_id}/config": ADMIN,
    "GET /api/v1/devices/{device_id}/config": ALL,
    "POST /api/v1/devices/{device_id}/commands": DEVICE_OPS,
    "GET /api/v1/devices/{device_id}/commands": DEVICE_OPS,
    "GET /api/v1/devices/{device_id}/commands/{command_id}": DEVICE_OPS,
    "GET /api/v1/devices/{device_id}/commands/{command_id}/snapshot": DEVICE_OPS,
    "GET /api/v1/devices/{device_id}/commands/{command_id}/log": DEVICE_OPS,
    # Enrolment (issue 12): boxes enrol with a one-time token and sign their later requests
    # with their key (no staff login); admins make tokens and revoke keys.
    "GET /api/v1/enrolment/ping": PUBLIC,
    "POST /api/v1/enrolment": PUBLIC,
    "POST /api/v1/enrolment/keys": PUBLIC,
    "POST /api/v1/enrolment/configs": PUBLIC,
    "POST /api/v1/enrolment/tokens": ADMIN,
    "GET /api/v1/enrolment/tokens": ADMIN,
    "DELETE /api/v1/enrolment/tokens/{token_id}": ADMIN,
    "POST /api/v1/device-keys/{key_id}/revoke": ADMIN,
    "GET /tra-cuu": PUBLIC,  # the citizens' search page (issue 10)
    # The staff web UI (issue 9): pages answer HTML (a redirect to /login without a session).
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "POST /logout": ALL,
    "GET /": ALL,
    "GET /review": OPERATOR,
    "GET /review/case/{violation_id}": OPERATOR,
    # Police, dashboard and administration pages (issue 9, part 2).
    "GET /police": POLICE,
    "GET /police/cases/{violation_id}": POLICE,
    "GET /police/cases/{violation_id}/sheet": POLICE,
    "GET /dashboard": frozenset({R.admin, R.leader}),
    "GET /admin/users": ADMIN,
    "GET /admin/users/{user_id}": ADMIN,
    "GET /account": ALL,
    "POST /account/totp": ALL,
    "GET /admin/sites": ALL,
    "GET /admin/units": ALL,
    "GET /admin/reasons": ALL,
    "GET /admin/holidays": ALL,
    "GET /admin/devices": ALL,
    "GET /admin/audit": AUDIT,
}
# FastAPI's own documentation routes: public by design, not APIRoutes.
DOC_ROUTES = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
# The web UI's stylesheets and scripts (StaticFiles mounted from the package): public.
STATIC_MOUNTS = frozenset({"/static"})
# The citizens' search (issue 10) lives here and is public by definition.
PUBLIC_PREFIX = "/api/public/"
PATH_VALUES: dict[str, str] = {
    "role": "scene_at",
    "day": "2001-02-03",
    "code": "no_such_code",
    "site_id": "no-such-site",
}
MISSING_ID = "999999"


def _declared(dependant: Dependant) -> list[Requires | PublicRoute]:
    found: list[Requires | PublicRoute] = []
    for dep in dependant.dependencies:
        if isinstance(dep.call, Requires | PublicRoute):
            found.append(dep.call)
        found += _declared(dep)
    return found


def _contexts(app: FastAPI) -> list[RouteContext]:
    # FastAPI includes routers lazily: their routes, with the full path and the router's own
    # dependencies, are seen through the route contexts.
    return list(iter_route_contexts(app.routes))


def _routes(app: FastAPI) -> list[tuple[str, str, Any]]:
    return [
        (method, str(ctx.path), ctx)
        for ctx in _contexts(app)
        if isinstance(ctx.original_route, APIRoute)
        for method in sorted(ctx.methods or ())
    ]


def _url(route: Any) -> str:
    values = {p.name: PATH_VALUES.get(p.name, MISSING_ID) for p in route.dependant.path_params}
    return str(route.path).format(**values)


def _is_html(route: Any) -> bool:
    response_class = getattr(route.response_class, "value", route.response_class)
    return isinstance(response_class, type) and issubclass(response_class, HTMLResponse)


def _call(client: Any, method: str, url: str) -> Any:
    if method in ("POST", "PUT", "PATCH"):
        return client.request(method, url, json={})
    return client.request(method, url)


def test_every_route_declares_one_permission_or_public(api_env: ApiEnv) -> None:
    undeclared, ambiguous = [], []
    for method, path, route in _routes(api_env.app):
        declared = {repr(d) for d in _declared(route.dependant)}
        if not declared:
            undeclared.append(f"{method} {path}")
        elif len(declared) > 1:
            ambiguous.append(f"{method} {path}: {sorted(declared)}")
    assert undeclared == [], "routes without Depends(Requires(...)) or Depends(PUBLIC)"
    assert ambiguous == []


def test_every_route_is_in_the_reviewed_table(api_env: ApiEnv) -> None:
    actual = {f"{m} {p}" for m, p, _ in _routes(api_env.app)}
    new = sorted(k for k in actual - set(EXPECTED) if not k.split(" ")[1].startswith(PUBLIC_PREFIX))
    assert new == [], "add new routes to EXPECTED with the roles that may call them"
    assert sorted(set(EXPECTED) - actual) == []
    others = [
        c
        for c in _contexts(api_env.app)
        if not isinstance(c.original_route, APIRoute)
        and not (isinstance(c.original_route, Mount) and c.path in STATIC_MOUNTS)
    ]
    assert {c.path for c in others} <= DOC_ROUTES, "non-API routes must be declared here"
    assert all(isinstance(c.original_route, Route) for c in others)


def test_declarations_match_the_table(api_env: ApiEnv) -> None:
    for method, path, route in _routes(api_env.app):
        key = f"{method} {path}"
        expected = EXPECTED.get(key, PUBLIC if path.startswith(PUBLIC_PREFIX) else None)
        declared = _declared(route.dependant)[0]
        assert isinstance(declared, PublicRoute) == (expected == PUBLIC), key


def test_without_login_the_api_answers_401_and_pages_redirect(api_env: ApiEnv) -> None:
    client = api_env.client()
    for method, path, route in _routes(api_env.app):
        if EXPECTED.get(f"{method} {path}") == PUBLIC or path.startswith(PUBLIC_PREFIX):
            continue
        response = client.request(method, _url(route), follow_redirects=False)
        key = f"{method} {path}"
        if _is_html(route):
            assert response.status_code in (302, 303, 307), key
            assert "/login" in response.headers["location"], key
        else:
            assert response.status_code == 401, key
            assert response.json()["error"]["code"] == "not_authenticated", key


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_is_allowed_exactly_what_the_table_says(api_env: ApiEnv, role: Role) -> None:
    client = api_env.as_token(api_env.user(role))
    mismatches = []
    for method, path, route in _routes(api_env.app):
        expected = EXPECTED.get(f"{method} {path}")
        if expected == PUBLIC or expected is None:
            continue
        response = _call(client, method, _url(route))
        body = response.json() if response.headers.get("content-type") == "application/json" else {}
        # Refused by the route's permission (not by the workflow's finer checks); a page
        # answers its 403 page.
        forbidden = response.status_code == 403 and (
            _is_html(route) or "permission" in (body["error"].get("detail") or {})
        )
        assert response.status_code != 401, f"{method} {path}"
        assert response.status_code < 500, f"{method} {path}: {response.text}"
        if forbidden == (role in expected):
            mismatches.append(f"{method} {path}: {response.status_code}")
    assert mismatches == []


def test_public_routes_answer_without_login(api_env: ApiEnv) -> None:
    client = api_env.client()
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    assert client.post("/api/v1/auth/login", json={}).status_code == 422


def test_the_matrix_would_catch_an_undeclared_route(api_env: ApiEnv) -> None:
    @api_env.app.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {"oops": dt.date.today().isoformat()}

    undeclared = [f"{m} {p}" for m, p, r in _routes(api_env.app) if not _declared(r.dependant)]
    assert undeclared == ["GET /api/v1/forgotten"]
