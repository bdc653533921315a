#!/usr/bin/env bash
# Measure both installs side by side: download size, install time from the downloaded files, environment
# size, and seconds from `python app.py` to the first served page. Prints README's install table rows.
#
#   bash scripts/bench/measure_install.sh            # both (the full one downloads about 3 GB)
#   bash scripts/bench/measure_install.sh app        # only the app-only install
#
# Works in a temporary folder; the project's own .venv and .venv-app are not touched.
set -euo pipefail
cd "$(dirname "$0")/../.."
WHICH=${1:-both}
case "$WHICH" in
  both|app) ;;
  -h|--help) sed -n 2,8p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "measure_install.sh: say 'app' or nothing (both), not '$WHICH'" >&2; exit 2 ;;
esac
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PORT=7931

seconds_since() { python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.0f}')" "$1"; }

first_page() {  # first_page PYTHON -> seconds until http://127.0.0.1:$PORT/ answers
  local start pid
  start=$(date +%s.%N)
  "$1" app.py --port "$PORT" > "$WORK/app.log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$PORT/" > /dev/null; do
    kill -0 "$pid" 2> /dev/null || { cat "$WORK/app.log" >&2; echo "the app exited" >&2; exit 1; }
    sleep 0.2
  done
  python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.1f} s')" "$start"
  kill "$pid"; wait "$pid" 2> /dev/null || true
}

measure() {  # measure NAME REQUIREMENTS
  local name=$1 requirements=$2 dl="$WORK/$1-wheels" venv="$WORK/$1-venv" start install
  echo "== $name: pip download -r $requirements" >&2
  python3 -m pip download -q -r "$requirements" -d "$dl" > /dev/null
  python3 -m venv "$venv"
  start=$(date +%s.%N)
  "$venv/bin/pip" install -q --no-index --find-links "$dl" -r "$requirements" > /dev/null
  install=$(seconds_since "$start")
  echo "| $name | $(du -sh "$dl" | cut -f1)B | $(du -sh "$venv" | cut -f1)B | ${install} s | $(first_page "$venv/bin/python") |"
  rm -rf "$dl" "$venv"
}

echo "| install | downloads | environment | install from the downloads | first page served |"
echo "|---|---|---|---|---|"
measure "app only (requirements-app.txt)" requirements-app.txt
if [ "$WHICH" = both ]; then measure "everything (requirements.txt)" requirements.txt; fi
