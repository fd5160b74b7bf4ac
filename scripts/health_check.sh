#!/usr/bin/env bash
# Probe a running OneFlow gateway: /health (the process is alive) and /ready
# (it can serve: config loaded, plugins up, database reachable).
set -uo pipefail

usage() {
  cat <<USAGE
Usage: $(basename "$0") [-u URL] [-t SECONDS] [-q] [-h]

Checks GET URL/health and GET URL/ready.

  -u URL       base URL of the gateway (default: \$ONEFLOW_URL or http://127.0.0.1:8080)
  -t SECONDS   timeout for each request (default: 5)
  -q           quiet: print nothing, only set the exit code
  -h           show this help

Exit codes:
  0  alive and ready
  1  /health failed: the gateway is down or unreachable
  2  /health passed but /ready failed: alive, not ready to serve
  3  usage error
  4  curl is not installed
USAGE
}

url="${ONEFLOW_URL:-http://127.0.0.1:8080}"
timeout=5
quiet=0
while getopts ":u:t:qh" opt; do
  case "$opt" in
    u) url="$OPTARG" ;;
    t) timeout="$OPTARG" ;;
    q) quiet=1 ;;
    h) usage; exit 0 ;;
    :) echo "option -$OPTARG needs a value" >&2; usage >&2; exit 3 ;;
    *) echo "unknown option -$OPTARG" >&2; usage >&2; exit 3 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -gt 0 ]; then
  echo "unexpected argument: $1" >&2; usage >&2; exit 3
fi
if ! [[ "$timeout" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  echo "timeout must be a number of seconds, got '$timeout'" >&2; exit 3
fi
case "$url" in
  http://*|https://*) ;;
  *) echo "URL must start with http:// or https://, got '$url'" >&2; exit 3 ;;
esac
url="${url%/}"

if ! command -v curl >/dev/null 2>&1; then
  echo "curl is required" >&2; exit 4
fi

say() { [ "$quiet" -eq 1 ] || echo "$@"; }

# probe PATH prints the status code ("000" when no answer) and succeeds on 2xx.
probe() {
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time "$timeout" "$url$1" 2>/dev/null)
  code="${code:-000}"
  echo "$code"
  [[ "$code" =~ ^2 ]]
}

if code=$(probe /health); then
  say "ok    $url/health ($code)"
else
  say "FAIL  $url/health ($code)"
  exit 1
fi
if code=$(probe /ready); then
  say "ok    $url/ready ($code)"
else
  say "FAIL  $url/ready ($code)"
  exit 2
fi
exit 0
