#!/usr/bin/env bash
# Fuzzes gmpsim's parsers with cargo-fuzz (libFuzzer): scenario files, replay
# files, gctrace and schedtrace lines, cost-model files.
#
#   scripts/fuzz.sh                       # every target, 1,000,000 runs or 10 min each
#   scripts/fuzz.sh --runs 100000 gctrace # one target, fewer runs
#
# Each target starts from a corpus seeded from the project's own inputs (the
# scenario library and the bad-input files, replays, captured real-Go traces;
# see fuzz/seeds/), kept in fuzz/corpus/ (ignored by git) between runs. A crash
# leaves its input in fuzz/artifacts/TARGET/; turn it into a regression test
# beside the parser's other tests, then fix the parser.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=1000000
max_time_s=600
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --max-time) max_time_s="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "scripts/fuzz.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(scenario_file replay_file gctrace schedtrace cost_model_file)
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (cargo install cargo-fuzz --locked)" >&2
  cargo install cargo-fuzz --locked
fi
# cargo-fuzz passes nightly-only flags (-Zsanitizer and friends) to rustc;
# this tells the machine's stable toolchain to accept them.
export RUSTC_BOOTSTRAP=1

seed() {
  local target="$1" dir="fuzz/corpus/$1"
  mkdir -p "$dir"
  case "$target" in
    scenario_file) cp crates/scenarios/library/*.toml crates/scenarios/tests/bad/*.toml "$dir/" ;;
    gctrace) cp crates/scenarios/tests/data/gctrace-*.txt "$dir/" ;;
    schedtrace) cp crates/scenarios/tests/data/schedtrace-*.txt "$dir/" ;;
    replay_file|cost_model_file) cp fuzz/seeds/"$target"/* "$dir/" ;;
    *) echo "scripts/fuzz.sh: no target named $target (targets: ${all[*]})" >&2; exit 1 ;;
  esac
}

for target in "${targets[@]}"; do
  seed "$target"
  echo "== fuzzing $target: $runs runs or ${max_time_s}s, whichever comes first" >&2
  cargo fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" -- \
    -runs="$runs" -max_total_time="$max_time_s" -max_len=16384 -print_final_stats=1
done
