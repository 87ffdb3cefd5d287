from __future__ import annotations

import importlib
import sys

import pytest

import central_server


def test_the_server_refuses_python_3_10(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 10, 12, "final", 0))
    with pytest.raises(RuntimeError, match="Python 3.11"):
        importlib.reload(central_server)
    monkeypatch.undo()
    importlib.reload(central_server)
