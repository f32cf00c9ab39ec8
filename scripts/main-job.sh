#!/usr/bin/env bash
# The main job: every library scenario in the model and in real Go, side by side.
# Installs the pinned Go toolchain when it is missing (scripts/install-go.sh),
# builds the release binary, then runs `gmpsim compare --all --runs 3`: each
# scenario simulated with seed 1 and run three times with real Go.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

go_bin="$(scripts/install-go.sh | tail -n 1)"
# The CLI would find it in .tools/ anyway; naming it makes the run's Go explicit.
export GMPSIM_GO="$go_bin"

cargo build --release
target/release/gmpsim compare --all --runs 3 --seed 1
