#!/usr/bin/env bash
# Installs what minilm needs to build and test on Debian 12 (run as root, or it uses sudo),
# then places the real all-MiniLM-L6-v2 model folder (tools/fetch_model.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi

packages=(
  g++ meson ninja-build pkg-config cmake git python3 python3-pip
  libeigen3-dev libsimdjson-dev unicode-data zlib1g-dev
  doctest-dev libbenchmark-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
"$here/fetch_model.sh"
