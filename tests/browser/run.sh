#!/usr/bin/env bash
# Browser tests of the web console: real headless Chromium (Debian's `chromium` package)
# driven by playwright-core, against the real binary.
#
#   tests/browser/run.sh                         # uses target/debug/parley (run `cargo build` first)
#   PARLEY_BIN=target/release/parley tests/browser/run.sh
#
# Screenshots go to artifacts/browser/. Exits 0 with "SKIPPED" when Chromium is not
# installed (`apt-get install -y chromium`); never downloads a browser.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHROMIUM="${CHROMIUM_BIN:-/usr/bin/chromium}"

if [[ ! -x "$CHROMIUM" ]]; then
  echo "SKIPPED: chromium not installed ($CHROMIUM); apt-get install -y chromium"
  exit 0
fi
if ! command -v node >/dev/null 2>&1; then
  echo "browser tests: node is required (Node 20 or newer)" >&2
  exit 2
fi

BIN="${PARLEY_BIN:-target/debug/parley}"
[[ "$BIN" = /* ]] || BIN="$ROOT/$BIN"
if [[ ! -x "$BIN" ]]; then
  echo "browser tests: no parley binary at $BIN: run 'cargo build' or set PARLEY_BIN" >&2
  exit 2
fi
export PARLEY_BIN="$BIN" CHROMIUM_BIN="$CHROMIUM"
# playwright-core must never fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

cd "$ROOT/tests/browser"
npm ci --no-audit --no-fund --prefer-offline --loglevel=error
mkdir -p "$ROOT/artifacts/browser"
exec node --test --test-concurrency=1 --test-reporter=spec console.test.js
