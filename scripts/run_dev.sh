#!/usr/bin/env bash
# Starts the Azure DevOps emulator and the development server together; Ctrl-C stops both.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
EMULATOR_PORT=${EMULATOR_PORT:-8765}

"$PY" manage.py ado_emulator --port "$EMULATOR_PORT" --quiet &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:${EMULATOR_PORT}/_emulator/demo" >/dev/null 2>&1 && break
  sleep 0.1
done

cat <<TEXT

  almlink is starting at  http://127.0.0.1:${PORT}/
  Azure DevOps emulator:  http://127.0.0.1:${EMULATOR_PORT}/fabrikam

  Sign in as (password: ${DEMO_PASSWORD:-demo-pass-123}):
    alice  no personal token yet: she sees the banner
    bob    a saved, working personal token
    admin  superuser: /admin/ for the ALM connection

TEXT
"$PY" manage.py demo_tokens || true
echo "  Press Ctrl-C to stop both."
echo
"$PY" manage.py runserver "127.0.0.1:${PORT}"
