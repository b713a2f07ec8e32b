#!/usr/bin/env bash
# Creates a virtualenv for the independent Python peer and installs its requirements.
#
# Usage: tests/python/setup.sh VENV_DIR
# Prints the venv's interpreter path as the only line on stdout, so a caller can do:
#   export RECONNECT_PYTHON="$(tests/python/setup.sh .venv)"
# Everything else (pip's output) goes to stderr. Honours $PYTHON (default: python3).
set -euo pipefail

venv="${1:?usage: $0 VENV_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$here/requirements.txt" >&2
# Fail here, not in the tests, if the install did not produce an importable package.
"$venv/bin/python" -c "import websockets, prometheus_client" >&2
echo "$(cd "$venv" && pwd)/bin/python"
