#!/usr/bin/env bash
# Installs the Debian 12 packages fergen builds with. Everything comes from Debian's archive; nothing else is
# downloaded, then or later.
#
#   scripts/install-deps.sh           compiler, CMake, Ninja and the libraries (enough to build and run fergen)
#   scripts/install-deps.sh --tests   also python3-torch, torchvision, numpy and scipy, which the test suite and the
#                                     benchmarks run as independent references (through /usr/bin/python3),
#                                     clang with its runtime for the libFuzzer targets, and chromium,
#                                     which renders the study report headless in a test, and GNU parallel, which
#                                     runs the sharded study as examples/cluster/study_parallel.sh does
#
# Runs apt-get through sudo when not root. Skips apt entirely when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git pkg-config
  libxtensor-dev libxtensor-blas-dev libopenblas-dev libdnnl-dev zlib1g-dev libstb-dev libpugixml-dev nlohmann-json3-dev libcli11-dev doctest-dev
)
case "${1:-}" in
  "") ;;
  --tests) packages+=(python3 python3-numpy python3-torch python3-torchvision python3-scipy python3-openpyxl python3-pil clang libclang-rt-14-dev libomp-14-dev chromium parallel) ;;
  *) echo "usage: $0 [--tests]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
