"""trafficwatch central server: ingest, review, police workflow, public search and reports."""

import sys

# The box's packages stay on 3.10 (JetPack 6); the server uses 3.11+ features and dependencies, so
# fail early with a clear message rather than with an obscure error deep in an import.
if sys.version_info < (3, 11):  # pragma: no cover - exercised by reloading under a fake version
    raise RuntimeError(
        "Máy chủ trafficwatch cần Python 3.11 trở lên "
        f"(đang chạy {sys.version_info[0]}.{sys.version_info[1]}). "
        "The trafficwatch central server needs Python 3.11 or newer."
    )
