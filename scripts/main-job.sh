#!/usr/bin/env bash
# The main job: every library scenario in the model and in real Go, side by side.
# Installs the pinned Go toolchain when it is missing (scripts/install-go.sh),
# builds the release binary, then runs `gmpsim validate --live --runs 3
# --verbose`: each scenario is simulated (seeds 1..5) and its generated Go
# program is run three times with real Go; every figure is printed with the
# model's value, the real mean, min-max and spread, the tolerance rule and the
# verdict, each scenario with the machine's background load during its runs,
# and at the end the headline "N of M comparisons within tolerance".
# Extra arguments go to `gmpsim validate` (e.g. scenario names, --runs 5).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

go_bin="$(scripts/install-go.sh | tail -n 1)"
# The CLI would find it in .tools/ anyway; naming it makes the run's Go explicit.
export GMPSIM_GO="$go_bin"

cargo build --release
target/release/gmpsim validate --live --runs 3 --verbose "$@"
