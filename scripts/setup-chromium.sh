#!/usr/bin/env bash
# Headless Chromium for the benchmark report test (packages/bench/test/html.test.ts opens the
# HTML leaderboard in it). Optional: without it that test is skipped with a message. Installs
# Debian's `chromium` package only as root with apt; anywhere else it says what to install.
# Idempotent: does nothing when a Chromium is already there.
set -uo pipefail
say() { printf '[setup] %s\n' "$*"; }
for c in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$c" ] && [ -x "$c" ]; then say "Chromium present ($c); nothing to install."; exit 0; fi
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "Chromium not found; the HTML report test will be skipped. To run it: apt-get install -y chromium (as root), or set CHROMIUM_PATH."
  exit 0
fi
say "installing chromium (headless browser for the report test)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq chromium >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null 2>&1 \
    || { say "could not install chromium; the HTML report test will be skipped"; exit 0; }
fi
say "Chromium installed: $(/usr/bin/chromium --version 2>/dev/null)"
