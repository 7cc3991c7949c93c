#!/usr/bin/env bash
# Builds the fuzz targets and runs each for SECONDS (default 20); fails on any crash, hang
# (an input slower than TIMEOUT seconds, default 10) or out-of-memory. CI runs `fuzz/run.sh 20`
# from scripts/test; longer runs and what they found are in docs/fuzzing.md.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      e.g. fuzz/run.sh 600 liquid_render
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). Only the stable toolchain is on our
# machines; RUSTC_BOOTSTRAP=1 lets it take the nightly-only flags cargo-fuzz passes. Builds go
# to fuzz/target, separate from the workspace's target/. Each target reads its committed seeds
# (fuzz/corpus/TARGET) and keeps what it finds in fuzz/corpus-run/TARGET (not committed); a
# crashing input lands in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-20}"
shift || true
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=(flow_definition liquid_render form_decode split_conditions)
fi
timeout_s="${TIMEOUT:-10}"

export RUSTC_BOOTSTRAP=1
# Release with debug assertions: overflow checks stay on, so an integer overflow a user can
# trigger is a crash here (it panics in debug builds and computes garbage in release ones).
# No sanitizer: the code is safe Rust, and a sanitizer build would double the build time.
mkdir -p artifacts
build_start=$SECONDS
# 16 codegen units instead of cargo-fuzz's 1: the large crates build on both cores.
if ! cargo fuzz build -O -a --sanitizer none --codegen-units 16 >artifacts/build.log 2>&1; then
  tail -n 60 artifacts/build.log >&2
  echo "fuzz: build failed (full log: fuzz/artifacts/build.log)" >&2
  exit 1
fi
echo "fuzz: targets built in $((SECONDS - build_start)) s"

triple=$(rustc -vV | sed -n 's/^host: //p')
bin="${CARGO_TARGET_DIR:-target}/$triple/release"

failed=()
for t in "${targets[@]}"; do
  mkdir -p "corpus-run/$t" "artifacts/$t"
  log="artifacts/$t/last-run.log"
  dict=()
  [ -f "dicts/$t.dict" ] && dict=(-dict="dicts/$t.dict")
  # The binary is run directly, not through `cargo fuzz run`, so a source edited meanwhile
  # (others work in the same tree) cannot trigger a rebuild in the middle of the runs.
  if "$bin/$t" -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb=2048 \
    -print_final_stats=1 "${dict[@]}" -artifact_prefix="artifacts/$t/" \
    "corpus-run/$t" "corpus/$t" >"$log" 2>&1; then
    summary=$(grep -E '^#[0-9]+\s+DONE' "$log" | tail -1 | sed -E 's/\s+/ /g')
    echo "fuzz: $t ok — $summary"
  else
    echo "fuzz: $t FAILED; the log's end (full log: fuzz/$log):" >&2
    tail -n 40 "$log" >&2
    failed+=("$t")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}; reproduce with fuzz/target/…/TARGET fuzz/artifacts/TARGET/crash-…" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds} s each without a crash"
