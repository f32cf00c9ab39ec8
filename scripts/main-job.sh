#!/usr/bin/env bash
# The main job: simulate every library scenario (seed 1) and print each summary.
# When the real-Go runner lands, this also runs each scenario with real Go
# (scripts/install-go.sh) and prints the two side by side.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --release
gmpsim=target/release/gmpsim

names="$("$gmpsim" list --names)"
[ -n "$names" ] || { echo "error: gmpsim list --names printed no scenarios" >&2; exit 1; }

for name in $names; do
    printf '\n==== %s (seed 1) ====\n' "$name"
    "$gmpsim" run "$name" --seed 1
done
