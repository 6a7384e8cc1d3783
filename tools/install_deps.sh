#!/usr/bin/env bash
# Installs what minilm needs to build and test on Debian 12 (run as root, or it uses sudo),
# then places the real all-MiniLM-L6-v2 model folder (tools/setup/fetch_model.sh). The tests' multilingual
# folders come from tools/setup/fetch_multilingual.sh, which tools/test.sh runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

packages=(
  g++ meson ninja-build pkg-config cmake git python3 python3-pip python3-numpy python3-venv python3-dev
  libeigen3-dev libsimdjson-dev unicode-data zlib1g-dev
  doctest-dev libbenchmark-dev
  libsentencepiece-dev
  libsimde-dev
  ccache
)
"$here/setup/apt_install.sh" "${packages[@]}"
"$here/setup/fetch_model.sh"
