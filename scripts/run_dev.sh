#!/usr/bin/env bash
# Starts the Azure DevOps emulator and the development server together; Ctrl-C stops both.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
EMULATOR_PORT=${EMULATOR_PORT:-8765}
ENTRA_PORT=${ENTRA_PORT:-8766}
# Sign in with Microsoft: the emulator's Entra ID authority, and the CA it makes at start for the app to trust.
ca_dir=$(mktemp -d)
export ALM_ENTRA_AUTHORITY_HOST="https://127.0.0.1:${ENTRA_PORT}"
export ALM_ENTRA_CA_BUNDLE="${ca_dir}/entra-ca.pem"
# Development settings come from the .env that `make run` writes; the app reads it only when told to.
export DJANGO_READ_DOT_ENV_FILE=${DJANGO_READ_DOT_ENV_FILE:-true}

"$PY" manage.py migrate --noinput
# The demo connection follows the port the emulator runs on this time (seed_demo updates its URL).
ALM_EMULATOR_URL="http://127.0.0.1:${EMULATOR_PORT}/fabrikam" "$PY" manage.py seed_demo

"$PY" manage.py ado_emulator --port "$EMULATOR_PORT" --entra-port "$ENTRA_PORT" \
  --entra-ca-bundle "$ALM_ENTRA_CA_BUNDLE" --quiet &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null || true; rm -rf "$ca_dir"' EXIT INT TERM

# Wait (at most 5 s) until the emulator answers; no curl needed.
"$PY" - "$EMULATOR_PORT" <<'PYTHON' || echo "  (the emulator is slow to start; the app will say so if it cannot reach it)"
import sys, time, urllib.request
for _ in range(50):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_emulator/demo", timeout=1)  # noqa: S310
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PYTHON

cat <<TEXT

  almlink is starting at  http://127.0.0.1:${PORT}/
  Azure DevOps emulator:  http://127.0.0.1:${EMULATOR_PORT}/fabrikam

  Sign in as (password: ${DEMO_PASSWORD:-demo-pass-123}):
    alice  no personal token yet: she sees the banner
    bob    a saved, working personal token
    admin  superuser: /admin/ for the ALM connection

  Sign in with Microsoft (ALM Credentials) goes to the emulator's Entra ID page at
  https://127.0.0.1:${ENTRA_PORT}/: the browser warns about its certificate (a test CA made at start); proceed.

TEXT
"$PY" manage.py demo_tokens || true
echo "  Press Ctrl-C to stop both."
echo
"$PY" manage.py runserver "127.0.0.1:${PORT}"
