#!/usr/bin/env bash
# Install oda-widgets into .venv and open JupyterLab on the quickstart notebook.
# The notebook uses the embedded demo dispatcher unless ODA_DISPATCHER_URL is set.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_venv "."
"$VENV/bin/pip" install -q "jupyterlab>=4.2"
ensure_lab_settings
args=(--ServerApp.ip="${JUPYTER_IP:-127.0.0.1}" --ServerApp.port="${JUPYTER_PORT:-8888}")
[ "$(id -u)" = 0 ] && args+=(--allow-root)
exec "$VENV/bin/python" -m jupyterlab "${args[@]}" notebooks/quickstart.ipynb "$@"
