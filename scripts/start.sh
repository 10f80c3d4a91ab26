#!/usr/bin/env bash
# Install oda-widgets into .venv and open JupyterLab on the quickstart notebook, or — with
# --voila — serve the notebooks as Voilà dashboards (outputs only, no code: the Explorer, the lessons).
#   bash scripts/start.sh                    JupyterLab on notebooks/quickstart.ipynb
#   bash scripts/start.sh --voila            Voilà on notebooks/ (pick dashboard.ipynb or a lesson)
#   bash scripts/start.sh --voila notebooks/lessons/grb_duration.ipynb    one dashboard
# The notebooks use the embedded demo dispatcher unless ODA_DISPATCHER_URL is set. Products are
# saved into oda-products/ of the folder you start this from (ODA_WIDGETS_PRODUCTS_DIR moves it).
CALLER_PWD="$PWD"
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
mode=lab
if [ "${1:-}" = "--voila" ]; then
  mode=voila
  shift
fi
ensure_venv "."
"$VENV/bin/pip" install -q "jupyterlab>=4.2" "voila>=0.5"
export ODA_WIDGETS_PRODUCTS_DIR="${ODA_WIDGETS_PRODUCTS_DIR:-$CALLER_PWD/oda-products}"
if [ "$mode" = voila ]; then
  target=notebooks
  if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    # a notebook or folder, relative to where you started this or to the repository
    case "$1" in
      /*) target="$1" ;;
      *) if [ -e "$CALLER_PWD/$1" ]; then target="$CALLER_PWD/$1"; else target="$1"; fi ;;
    esac
    shift
  fi
  # tracebacks shown: in a classroom the error is the lesson's next question
  exec "$VENV/bin/voila" "$target" --Voila.ip="${VOILA_IP:-127.0.0.1}" --port="${VOILA_PORT:-8866}" \
    --show_tracebacks=True "$@"
fi
ensure_lab_settings
args=(--ServerApp.ip="${JUPYTER_IP:-127.0.0.1}" --ServerApp.port="${JUPYTER_PORT:-8888}")
[ "$(id -u)" = 0 ] && args+=(--allow-root)
exec "$VENV/bin/python" -m jupyterlab "${args[@]}" notebooks/quickstart.ipynb "$@"
