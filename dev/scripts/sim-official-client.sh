#!/usr/bin/env bash
# Replicate's official Python client (PyPI `replicate`, pinned) against the
# simulator binary: the stand-in must speak Replicate's API well enough for
# Replicate's own client to work unchanged (dev/replicate-sim/official_client_check.py).
# Bounded: the check itself is given SIM_CLIENT_SECONDS (default 120).
set -euo pipefail
cd "$(dirname "$0")/../.."

REPLICATE_CLIENT_VERSION=1.0.7
if [ "$(python3 -c 'import replicate; print(replicate.__about__.__version__)' 2>/dev/null)" != "$REPLICATE_CLIENT_VERSION" ]; then
  echo "installing replicate $REPLICATE_CLIENT_VERSION (PyPI)"
  pip install --quiet --disable-pip-version-check "replicate==$REPLICATE_CLIENT_VERSION"
fi

${CARGO:-cargo} build --quiet -p replicate-sim --bin replicate-sim
target_dir=$(${CARGO:-cargo} metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=r8_official_client_check
log=$(mktemp)
REPLICATE_SIM_ADDR="127.0.0.1:$port" REPLICATE_API_TOKEN=$token "$target_dir/debug/replicate-sim" 2>"$log" &
sim=$!
trap 'kill $sim 2>/dev/null || true; wait $sim 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q "listening" "$log" && break
  kill -0 $sim 2>/dev/null || { cat "$log"; echo "replicate-sim died"; exit 1; }
  sleep 0.1
done

SIM_URL="http://127.0.0.1:$port" SIM_TOKEN=$token \
  timeout "${SIM_CLIENT_SECONDS:-120}" python3 dev/replicate-sim/official_client_check.py \
  || { echo "--- replicate-sim log"; cat "$log"; exit 1; }
