# Sourced by scripts/test and scripts/demo: creates or reuses the virtual environment and installs
# the project with its dev, server and edge extras; sets $VENV and $PY.

pick_python() {
  for candidate in "${TW_PYTHON:-}" python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Python >= 3.11 is needed for the server (the box side runs on 3.10)" >&2
  return 1
}

VENV=${TW_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$(pick_python)" -m venv "$VENV"
fi
# Reinstall only when the dependency list changed: a stamp holds pyproject.toml's hash.
stamp="$VENV/.trafficwatch-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Cài đặt / installing trafficwatch[dev,server,edge] into $VENV ..."
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e '.[dev,server,edge]'
  echo "$want" > "$stamp"
fi
PY="$VENV/bin/python"
