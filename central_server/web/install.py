"""Hang the web UI on the application: every `pages_*` module's router and nav, `/static`.

Page modules are found by name: each `central_server/web/pages_*.py` defining `router` (an
`APIRouter(route_class=PageRoute)`) is included, and its `NAV` list, if any, joins the header's
navigation. Adding a page module therefore needs no edit here.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from types import ModuleType

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

import central_server.web as web_package
from central_server.web.nav import NavItem
from central_server.web.routing import install_page_errors

logger = logging.getLogger(__name__)

STATIC_PATH = "/static"
PAGE_MODULE_PREFIX = "pages_"


def page_modules() -> list[ModuleType]:
    """Every `central_server.web.pages_*` module, by name."""
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(web_package.__path__)
        if info.name.startswith(PAGE_MODULE_PREFIX)
    )
    return [importlib.import_module(f"{web_package.__name__}.{name}") for name in names]


def install_web(app: FastAPI) -> None:
    """Add the staff pages, their navigation and `/static` to `app`."""
    nav: list[NavItem] = []
    for module in page_modules():
        router = getattr(module, "router", None)
        if not isinstance(router, APIRouter):
            logger.warning("page module %s has no router", module.__name__)
            continue
        app.include_router(router)
        nav.extend(getattr(module, "NAV", []))
    app.state.web_nav = nav
    install_page_errors(app)
    # Served from the package: a centre may have no internet, so nothing comes from a CDN.
    app.mount(STATIC_PATH, StaticFiles(packages=[("central_server.web", "static")]), name="static")
