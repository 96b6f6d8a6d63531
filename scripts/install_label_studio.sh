#!/usr/bin/env bash
# Install the Label Studio server (label-studio 1.23.x) into its own virtualenv: it pins its own SDK and Django
# stack (~1.2 GB), so it stays out of the project's environment.
#   bash scripts/install_label_studio.sh [VENV]     # default VENV: .venv-label-studio in the repository root
# Idempotent: does nothing when VENV/bin/label-studio already exists.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-${LABEL_STUDIO_VENV:-$ROOT/.venv-label-studio}}"
PYTHON="${PYTHON:-python3}"
if [ -x "$VENV/bin/label-studio" ]; then
    echo "label-studio already installed in $VENV"
    exit 0
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "label-studio==1.23.*"
test -x "$VENV/bin/label-studio"
echo "label-studio $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("label-studio"))') installed in $VENV"
