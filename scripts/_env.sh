# Shared set-up for scripts/start.sh and scripts/test.sh: idempotent, safe to run again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_venv() {  # $1 = pip extras spec, e.g. ".[test]"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q -U pip
  fi
  "$VENV/bin/pip" install -q -e "$1"
}

ensure_fit_build_deps() {  # Debian packages Sherpa's source build needs (the fit extra), if missing
  # PyPI's sherpa 4.19 is a source distribution: its build runs a parser generator (byacc, flex)
  # and links FFTW.
  local missing=() pkg
  for pkg in byacc flex libfftw3-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${missing[@]}"
  fi
}

ensure_lab_settings() {  # JupyterLab defaults for this venv (the user can still change them)
  # Save widget state with the notebook, so a saved notebook re-opened shows its mosaics, tables
  # and plots again (Lab's default is not to).
  local dir="$VENV/share/jupyter/lab/settings"
  mkdir -p "$dir"
  cat > "$dir/overrides.json" <<'JSON'
{
  "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": true}
}
JSON
}
