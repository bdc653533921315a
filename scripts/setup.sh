#!/usr/bin/env bash
# Set-up on a fresh machine, into a virtual environment (Debian's own Python refuses system-wide pip installs).
#
#   bash scripts/setup.sh          everything for training and tests: apt (python3-venv, Chromium for the
#                                  browser tests, the Fashion-MNIST package), .venv with requirements.txt
#                                  and the studio package (editable), the text and music data sets
#   bash scripts/setup.sh --app    only the web app: .venv-app with requirements-app.txt and the studio
#                                  package (no torch, CPU)
#
# apt needs root: run as root, or as a user with sudo. On a machine without apt (macOS) the apt steps are
# skipped with a note: the browser tests and the image data set are then unavailable and their tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=full
case "${1:-}" in
  "") ;;
  --app) MODE=app ;;
  -h|--help) sed -n 2,11p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "setup.sh: unknown option '$1' (use --app for the app only, or nothing for everything)" >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-python3}

# apt_install PACKAGE... : install with apt-get, as root or through sudo; explain when neither is possible.
apt_install() {
  if ! command -v apt-get > /dev/null; then
    echo "   no apt-get here (not Debian/Ubuntu): skipping $*"
    return 1
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo > /dev/null; then
      sudo="sudo"
      echo "   apt needs root: asking sudo"
    else
      echo "setup.sh: installing $* needs root. Run this script as root, or install sudo, or run" >&2
      echo "          'apt-get install -y $*' as root and then this script again." >&2
      exit 1
    fi
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

if [ "$MODE" = app ]; then VENV=.venv-app; REQUIREMENTS=requirements-app.txt; else VENV=.venv; REQUIREMENTS=requirements.txt; fi

echo "== virtual environment: $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" > /dev/null 2>&1; then
    # Debian and Ubuntu ship venv in a separate package (python3.X-venv).
    rm -rf "$VENV"
    echo "   '$PYTHON -m venv' is not available: installing python3-venv"
    apt_install python3-venv || { echo "setup.sh: '$PYTHON -m venv' failed; install Python's venv module." >&2; exit 1; }
    "$PYTHON" -m venv "$VENV"
  fi
fi
. "$VENV/bin/activate"

echo "== pip: $REQUIREMENTS, then the studio package itself (pyproject.toml)"
python -m pip install -q -r "$REQUIREMENTS"
if [ "$MODE" = app ]; then
  python -m pip install -q --no-deps .
else
  python -m pip install -q --no-deps -e .  # editable: the checkout is the package
fi

if [ "$MODE" = app ]; then
  echo "== done: run the app with  $VENV/bin/python app.py"
  exit 0
fi

echo "== apt: Chromium and fonts (browser tests)"
apt_install chromium fonts-dejavu-core fonts-noto-color-emoji || echo "   the browser tests will be skipped"

echo "== apt: PostgreSQL (the vote store's tests start a throwaway server; the app itself uses SQLite by default)"
apt_install postgresql || echo "   the PostgreSQL tests will fail: install Debian's postgresql package"

echo "== data sets"
bash scripts/get_data.sh
echo "== done: $VENV/bin/python -m pytest -q  runs the tests;  $VENV/bin/python app.py  the app"
