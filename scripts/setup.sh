#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs for training and tests:
# apt (Chromium for the browser test, the data sets) and pip (the pinned stack).
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

echo "== apt: Chromium (browser test)"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core

echo "== pip: the pinned stack"
python3 -m pip install -q -r requirements.txt

echo "== data sets"
bash scripts/get_data.sh
