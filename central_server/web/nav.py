"""The header's navigation: each `pages_*` module declares its items; roles decide who sees them.

A module lists `NAV = [NavItem(...)]`; `install_web` collects every module's items. `/` sends a
user to the first item whose `home_for` names one of their roles, else to the first item they
may open, else to a plain welcome page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from central_server.accounts.permissions import Permission
from central_server.roles import Role


@dataclass(frozen=True)
class NavItem:
    """One link in the header: shown to whoever holds `permission`."""

    href: str
    label: str  # Vietnamese msgid, translated when rendered
    permission: Permission
    order: int = 100  # left to right
    home_for: frozenset[Role] = field(default_factory=frozenset)


def visible(items: Iterable[NavItem], permissions: frozenset[Permission]) -> list[NavItem]:
    """The items a user with `permissions` sees, in order."""
    return sorted(
        (item for item in items if item.permission in permissions),
        key=lambda item: (item.order, item.href),
    )


def home_of(
    items: Iterable[NavItem], roles: frozenset[Role], permissions: frozenset[Permission]
) -> str | None:
    """Where `/` sends a user with these roles (None: the welcome page)."""
    shown = visible(items, permissions)
    for item in shown:
        if item.home_for & roles:
            return item.href
    return shown[0].href if shown else None
