#!/usr/bin/env bash
# Property-based API check: schemathesis against the served /schema (seeded story, embedded
# PostgreSQL in a temporary folder). Fails on any 5xx or any response that violates the schema.
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir=$(mktemp -d /tmp/timeline-schemathesis.XXXXXX)
port=18765
TIMELINE_DATA_DIR="$data_dir" .venv/bin/timeline serve --port "$port" > "$data_dir/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$data_dir"' EXIT
.venv/bin/python - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(240):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=2)
        break
    except OSError:
        time.sleep(0.5)
else:
    sys.exit("timeline serve did not answer")
PY
token=$(TIMELINE_DATA_DIR="$data_dir" .venv/bin/timeline tokens create --scope write --name schemathesis)
# Reads: every GET route (the endless SSE stream is tested on its own), bounded examples.
.venv/bin/schemathesis run "http://127.0.0.1:$port/schema" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples 40 --exclude-path /v1/events/stream --exclude-method POST --seed 1
# Writes, with a token: never a 5xx, whatever the body.
.venv/bin/schemathesis run "http://127.0.0.1:$port/schema" \
  --checks not_a_server_error --max-examples 60 --include-method POST --seed 1 \
  -H "Authorization: Bearer $token"
