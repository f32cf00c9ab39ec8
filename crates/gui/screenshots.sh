#!/usr/bin/env bash
# Renders the gmpsim window under Xvfb and saves the README's screenshots in
# crates/gui/screenshots/. Needs: xvfb xauth imagemagick (and a Vulkan or GL
# driver for wgpu: mesa-vulkan-drivers libvulkan1). Usage: crates/gui/screenshots.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

for tool in xvfb-run import convert; do
    command -v "$tool" > /dev/null || {
        echo "screenshots.sh: $tool is missing (apt-get install -y xvfb xauth imagemagick)" >&2
        exit 1
    }
done

cargo build --release -p gui
out=crates/gui/screenshots
mkdir -p "$out"

# shot NAME SECONDS ARGS...: start the app with ARGS, wait, capture the screen.
shot() {
    local name=$1 wait_s=$2
    shift 2
    xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
        target/release/gui "$@" 2> /dev/null &
        app=$!
        sleep '"$wait_s"'
        import -window root "'"$out/$name"'.full.png"
        kill "$app"
    ' shot "$@"
    # Fewer colours keep the PNGs small; the UI uses few.
    convert "$out/$name.full.png" -strip -colors 96 -define png:compression-level=9 "$out/$name.png"
    rm "$out/$name.full.png"
    echo "$out/$name.png"
}

shot scheduler-steal-imbalance 8 steal-imbalance --at 50us --step-to steal --select 49
shot why-starvation-tight-loop 8 starvation-tight-loop --step-to preemption --step-to decision --select 1
shot gc-alloc-steady 10 alloc-steady --tab gc --step-to gc-start --steps 8
