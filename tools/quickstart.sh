#!/usr/bin/env bash
# The quickstart on a fresh Debian 12 machine: installs dependencies, builds
# the qplug CLI and the memory driver, and runs examples/quickstart (a Lua
# publisher and a Lua consumer on the in-process memory driver).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target qplug qplug_memory quickstart
echo "--- qplug run examples/quickstart/app.yaml --exit-when-idle"
exec ./build/bin/qplug run examples/quickstart/app.yaml --exit-when-idle
