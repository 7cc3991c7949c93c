#!/usr/bin/env bash
# End-to-end tests: the real `parley` binary driven by the official twilio-python client.
#
#   tests/e2e/run.sh                 # uses target/debug/parley (run `cargo build` first)
#   PARLEY_BIN=target/release/parley tests/e2e/run.sh -k participants
#
# Creates (or refreshes, when requirements.txt changed) the venv at .venv, then runs
# pytest on tests/e2e; extra arguments go to pytest.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
REQS="$ROOT/tests/e2e/requirements.txt"
STAMP="$VENV/.requirements.sha256"

want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$STAMP" 2>/dev/null)" != "$want" ]]; then
  echo "e2e: installing $REQS into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS"
  echo "$want" >"$STAMP"
fi

BIN="${PARLEY_BIN:-target/debug/parley}"
[[ "$BIN" = /* ]] || BIN="$ROOT/$BIN"
if [[ ! -x "$BIN" ]]; then
  echo "e2e: no parley binary at $BIN: run 'cargo build' or set PARLEY_BIN" >&2
  exit 2
fi
export PARLEY_BIN="$BIN"

cd "$ROOT/tests/e2e"
exec "$VENV/bin/python" -m pytest "$@"
