#!/usr/bin/env bash
# Install the data sets the training scripts read. Needs root (apt) on Debian/Ubuntu.
#   image: Fashion-MNIST, Debian package dataset-fashion-mnist -> /usr/share/datasets/fashion-mnist/
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "Fashion-MNIST: already installed in /usr/share/datasets/fashion-mnist"
else
  echo "Fashion-MNIST: installing the Debian package dataset-fashion-mnist"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends dataset-fashion-mnist
fi
ls /usr/share/datasets/fashion-mnist/
