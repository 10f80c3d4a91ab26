#!/usr/bin/env bash
# Install everything the tests need and run them all (ruff, mypy, node tests, pytest; any failure
# fails the run): .venv (package + test + workflows + fit extras; Sherpa, of the fit extra, is built
# from source, see ensure_fit_build_deps), Debian's Chromium for the browser tests, and
# .venv-dispatcher, the real ODA dispatcher (cdci-data-analysis 1.3.3) used as a test peer.
# Extra arguments go to pytest (e.g. scripts/test.sh -m "not browser" -x).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
# The workflows extra (nb2service for the demo's workflow instruments) lives in the main venv:
# pip check is clean with it and JupyterLab's stack is unchanged.
ensure_fit_build_deps
ensure_venv ".[test,workflows,fit]"

if ! command -v chromium >/dev/null 2>&1; then
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q chromium
fi

DVENV="$ROOT/.venv-dispatcher"
if [ ! -x "$DVENV/bin/run_osa_cdci_server.py" ]; then
  # Pins from ../shared/REAL_DISPATCHER.md: 1.3.3 pins bokeh==2.4.2 (conflicts with oda-api, hence
  # --no-deps) and imports names removed in Flask 2.3, marshmallow 3.24, python-shell-colors 0.4.
  "$PYTHON" -m venv "$DVENV"
  "$DVENV/bin/pip" install -q "oda-api==1.3.5" "flask<2.3" "marshmallow<3.24" \
      "python-shell-colors<0.4" sentry-sdk raven blinker pylogstash-context python-logstash \
      simplejson decorator flask-restx logging-tree nbformat giturlparse GitPython black celery \
      gunicorn bs4 redis PyJWT
  "$DVENV/bin/pip" install -q --no-deps "cdci-data-analysis==1.3.3"
fi

status=0
# Static checks first (a few seconds): lint, formatting, and types (pyproject.toml: [tool.ruff],
# [tool.mypy] — strict on the widget-free core client/ and products/).
"$VENV/bin/ruff" check . || status=$?
"$VENV/bin/ruff" format --check . || status=$?
"$VENV/bin/mypy" || status=$?
if ls js/tests/*.test.mjs >/dev/null 2>&1; then
  node --test js/tests/ || status=$?
fi
"$VENV/bin/python" -m pytest "$@" || status=$?
exit $status
