#!/usr/bin/env bash
# Installs the system packages the tests drive for real: perf (capture tests), Chromium
# (browser tests of the SVG and of speedscope's viewer) and Go (`go tool pprof` reads flame's
# pprof output). Needs root for apt-get; without it, says what to install.
set -euo pipefail
missing=()
command -v perf >/dev/null 2>&1 || missing+=(linux-perf)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v go >/dev/null 2>&1 || missing+=(golang-go)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "setup: missing system packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
