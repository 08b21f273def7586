#!/usr/bin/env bash
# Makes sure a WebGPU adapter can exist on this machine: the software Vulkan driver (Mesa lavapipe)
# must be >= 23, because Dawn refuses Mesa 22's lavapipe. On Debian 12 that means bookworm-backports.
# Idempotent: does nothing when a suitable Vulkan ICD is already installed.
set -euo pipefail

say() { printf '[setup] %s\n' "$*"; }

have_driver() {
  # A Vulkan ICD manifest plus a Mesa at version >= 23 (or any non-Mesa driver: a real GPU).
  local icd
  for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d; do
    for icd in "$d"/*.json; do [ -e "$icd" ] || continue; return_icd=1; done
  done
  [ "${return_icd:-0}" = 1 ] || return 1
  if command -v dpkg-query >/dev/null 2>&1 && dpkg-query -W -f='${Status}' mesa-vulkan-drivers 2>/dev/null | grep -q 'install ok installed'; then
    local v; v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)
    local major=${v%%.*}; major=${major#*:}
    [ "$major" -ge 23 ] || { say "mesa-vulkan-drivers $v is too old for Dawn (needs >= 23)"; return 1; }
  fi
  return 0
}

if have_driver; then
  say "Vulkan driver present; nothing to install."
  exit 0
fi

. /etc/os-release 2>/dev/null || true
manual() {
  cat >&2 <<MSG
[setup] No usable Vulkan driver for WebGPU. Install one, then rerun 'npm run setup':
  Debian 12 (bookworm), as root:
    echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
    apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1
  Debian 13+ / Ubuntu 24.04+, as root:
    apt-get update && apt-get install -y mesa-vulkan-drivers libvulkan1
  Elsewhere: a GPU driver with Vulkan, Metal or D3D12 support.
MSG
  exit 1
}

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then manual; fi

export DEBIAN_FRONTEND=noninteractive
if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    say "adding bookworm-backports to apt sources"
    echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/tunebench-backports.list
  fi
  say "installing mesa-vulkan-drivers from bookworm-backports (software Vulkan, lavapipe)"
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
else
  say "installing mesa-vulkan-drivers"
  apt-get update -qq
  apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
fi
have_driver || manual
say "Vulkan driver installed: $(dpkg-query -W -f='mesa-vulkan-drivers ${Version}' mesa-vulkan-drivers 2>/dev/null)"
