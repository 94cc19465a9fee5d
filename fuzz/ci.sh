#!/usr/bin/env bash
# CI fuzzing: every cargo-fuzz target runs for a fixed time from a fixed seed, starting from the
# committed seeds; the script fails if any target crashes (a panic, an abort, a leak or an
# out-of-memory counts: each is a bug for input that should only get an `Err`).
#
#   fuzz/ci.sh            # 30 s per target
#   fuzz/ci.sh 60         # 60 s per target
#   fuzz/ci.sh build      # only install cargo-fuzz and build the targets (.ci/run does this
#                         # early, in the background, so the timed runs find them built)
#
# Installs cargo-fuzz if it is missing. `-s none` (no sanitizer) builds on the stable toolchain;
# see fuzz/README.md. A crashing input is left in fuzz/artifacts/<target>/: copy it to
# fuzz/regressions/<target>/ once fixed, and `cargo test --release --test fuzz_regressions`
# replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
if [ "$secs" != build ] && ! [[ "$secs" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: fuzz/ci.sh [SECONDS | build] (got '$secs')" >&2
  exit 2
fi
export CARGO_TERM_COLOR=never

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# Build all three first, so the timed runs below are only fuzzing.
cargo fuzz build -O -s none
if [ "$secs" = build ]; then
  exit 0
fi

# A fresh corpus each time (libFuzzer adds to the first directory, reads the seeds from the
# second), so a run depends only on the commit, the seed and the time.
corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT

# One target: its libFuzzer log in $corpus/TARGET.log, its exit status in $corpus/TARGET.status.
fuzz_one() {
  local target="$1" opts status=0
  case "$target" in
    idx) opts=(-dict=fuzz/idx.dict) ;;
    image) opts=(-max_len=8192) ;;
    script) opts=(-dict=fuzz/script.dict -rss_limit_mb=4096) ;;
  esac
  mkdir -p "$corpus/$target"
  cargo fuzz run -O -s none "$target" "$corpus/$target" "fuzz/seeds/$target" -- \
    -seed=1 -max_total_time="$secs" -print_final_stats=1 "${opts[@]}" >"$corpus/$target.log" 2>&1 ||
    status=$?
  echo "$status" >"$corpus/$target.status"
}

# Each libFuzzer run uses one core: run as many targets at once as there are cores, so each still
# fuzzes for its full time on a core of its own.
targets=(idx image script)
jobs="$(nproc 2>/dev/null || echo 1)"
running=0
for target in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  fuzz_one "$target" &
  running=$((running + 1))
done
wait

failed=()
for target in "${targets[@]}"; do
  echo "== fuzz $target: ${secs} s, seed 1"
  log="$corpus/$target.log"
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs)' "$log" || true
  if [ "$(cat "$corpus/$target.status" 2>/dev/null || echo missing)" != 0 ]; then
    tail -n 60 "$log"
    failed+=("$target")
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzzing: 0 crashes in idx, image, script (${secs} s each)"
