#!/usr/bin/env bash
# Conformance of Parley's Conversations v1 and Studio v2 APIs to Twilio's OpenAPI specs,
# in strict mode.
#
# Starts the real binary on a fresh database, seeds live resources (seed.py for
# Conversations, seed_studio.py for Studio), and runs schemathesis over all 103
# Conversations v1 operations, then over all 19 Studio v2 operations, with the checks
# not_a_server_error and response_schema_conformance against copies of the specs in which
# every response field is required (strict_spec.py). Prints a one-line summary per API
# (st_summary.py) and exits 0 clean, 1 on any schema violation or server error,
# 2 on errors, nothing tested, or an interrupted run (the worse of the two runs).
#
#   tests/conformance/run.sh              # PARLEY_BIN=target/debug/parley by default
#   ST_MAX_EXAMPLES=20 ST_TIMEOUT=170 ST_STUDIO_TIMEOUT=60 tests/conformance/run.sh
#   ST_APIS=studio tests/conformance/run.sh      # only one of: conversations, studio
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/conformance"
BIN="${PARLEY_BIN:-target/debug/parley}"
[[ "$BIN" = /* ]] || BIN="$ROOT/$BIN"
OAI="${TWILIO_OAI:-$ROOT/specs/twilio-oai}"   # vendored copies of Twilio's specs
SPEC_SRC="$OAI/twilio_conversations_v1.json"
STUDIO_SRC="$OAI/twilio_studio_v2.json"
OUT="$ROOT/target/st"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-25}"
TIMEOUT="${ST_TIMEOUT:-170}"   # hard cap (seconds) on the Conversations schemathesis run
STUDIO_TIMEOUT="${ST_STUDIO_TIMEOUT:-60}"   # hard cap (seconds) on the Studio one
APIS="${ST_APIS:-conversations studio}"
ACCOUNT_SID="AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN="conformance-auth-token-0123456789"

[[ -x "$BIN" ]] || { echo "conformance: no parley binary at $BIN (cargo build, or set PARLEY_BIN)" >&2; exit 2; }
for f in "$SPEC_SRC" "$STUDIO_SRC"; do
  [[ -f "$f" ]] || { echo "conformance: spec not found at $f (set TWILIO_OAI)" >&2; exit 2; }
done

VENV="$ROOT/.venv"
if [[ ! -x "$VENV/bin/st" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$ROOT/tests/e2e/requirements.txt"
fi
PY="$VENV/bin/python"

rm -rf "$OUT/work" "$OUT/report"
mkdir -p "$OUT/work" "$OUT/report"
"$PY" "$HERE/strict_spec.py" "$SPEC_SRC" "$OUT/twilio_conversations_v1.strict.json"
"$PY" "$HERE/strict_spec.py" "$STUDIO_SRC" "$OUT/twilio_studio_v2.strict.json"

# The server: fresh db, known account. Outbound HTTP (webhooks the fuzzer configures with
# random URLs) goes to a proxy on a closed loopback port, so nothing leaves the machine.
SERVER_PID=""
cleanup() { [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; true; }
trap cleanup EXIT
env -u PARLEY_DB -u PARLEY_PUBLIC_URL \
  PARLEY_ACCOUNT_SID="$ACCOUNT_SID" PARLEY_AUTH_TOKEN="$AUTH_TOKEN" PARLEY_LOG=warn \
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 NO_PROXY= \
  http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9 no_proxy= \
  "$BIN" serve --addr 127.0.0.1:0 --db "sqlite://$OUT/work/parley.db" >"$OUT/work/server.out" 2>"$OUT/work/server.err" &
SERVER_PID=$!
BASE=""
for _ in $(seq 1 300); do
  BASE="$(sed -n 's/^Parley listening on \(http[^ ]*\).*/\1/p' "$OUT/work/server.out")"
  [[ -n "$BASE" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/work/server.err" >&2; echo "conformance: server exited" >&2; exit 2; }
  sleep 0.1
done
[[ -n "$BASE" ]] || { echo "conformance: server did not start" >&2; exit 2; }
echo "conformance: parley at $BASE"

export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

# run_st NAME STRICT_SPEC CONFIG TIMEOUT OUTPUT: one schemathesis run, its JSON report in
# $OUT/report/NAME. Run from the work dir: schemathesis writes its .schemathesis/ crash
# cache into the cwd.
run_st() {
  local name="$1" spec="$2" config="$3" cap="$4" output="$5" rc
  mkdir -p "$OUT/report/$name"
  set +e
  (cd "$OUT/work" && timeout -s INT "$cap" "$VENV/bin/st" --config-file "$config" run "$spec" \
    --url "$BASE" --auth "$ACCOUNT_SID:$AUTH_TOKEN" \
    --phases examples,coverage,fuzzing,stateful --max-examples "$MAX_EXAMPLES" \
    --seed 1 --generation-database none \
    --checks not_a_server_error,response_schema_conformance --request-timeout 5 \
    --report json --report-dir "$OUT/report/$name" --no-color) >"$output" 2>&1
  rc=$?
  set -e
  sed -n '/^=* SUMMARY =*$/,$p' "$output" | head -40
  if grep -q "Traceback\|Internal Error" "$output"; then tail -30 "$output"; fi
  echo "conformance: $name: st exit $rc; full output in $output"
}

RC=0
worst() { (( $1 > RC )) && RC=$1; true; }

if [[ " $APIS " == *" conversations "* ]]; then
  "$PY" "$HERE/seed.py" "$BASE" "$ACCOUNT_SID" "$AUTH_TOKEN" "$OUT/twilio_conversations_v1.strict.json" "$OUT/work/st.toml"
  run_st conversations "$OUT/twilio_conversations_v1.strict.json" "$OUT/work/st.toml" "$TIMEOUT" "$OUT/st-output.txt"
fi
if [[ " $APIS " == *" studio "* ]]; then
  "$PY" "$HERE/seed_studio.py" "$BASE" "$ACCOUNT_SID" "$AUTH_TOKEN" "$OUT/twilio_studio_v2.strict.json" "$OUT/work/st-studio.toml"
  run_st studio "$OUT/twilio_studio_v2.strict.json" "$OUT/work/st-studio.toml" "$STUDIO_TIMEOUT" "$OUT/st-studio-output.txt"
fi

echo "=== conformance summary"
if [[ " $APIS " == *" conversations "* ]]; then
  echo "--- Conversations v1"
  "$PY" "$HERE/check_deletes.py" "$BASE" "$ACCOUNT_SID" "$AUTH_TOKEN" "$OUT/work/st.toml.deletes.json"
  set +e; "$PY" "$HERE/st_summary.py" "$OUT/report/conversations"; worst $?; set -e
fi
if [[ " $APIS " == *" studio "* ]]; then
  echo "--- Studio v2"
  "$PY" "$HERE/check_deletes.py" "$BASE" "$ACCOUNT_SID" "$AUTH_TOKEN" "$OUT/work/st-studio.toml.deletes.json"
  set +e; "$PY" "$HERE/st_summary.py" "$OUT/report/studio"; worst $?; set -e
fi
exit "$RC"
