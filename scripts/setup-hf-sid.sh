#!/usr/bin/env bash
# Builds a Debian sid chroot with Hugging Face transformers (python3-transformers, python3-torch,
# python3-tokenizers, python3-safetensors; Debian 12 has no transformers and this machine reaches no
# PyPI), for packages/trainer/scripts/hf_transformers.py. Used only to REGENERATE the fixtures
# packages/trainer/test/fixtures/hf/transformers (never by CI or npm test):
#
#   bash scripts/setup-hf-sid.sh            # as root, on Debian; ~300 MB of packages, ~1.5 GB on disk
#   node --import tsx packages/trainer/test/hf_transformers_fixtures.ts /opt/hf-sid
#
# Idempotent: an existing chroot whose python3 imports transformers is left as it is.
# HF_SID_ROOT overrides the chroot's directory (default /opt/hf-sid).
set -euo pipefail

ROOT=${HF_SID_ROOT:-/opt/hf-sid}
MIRROR=http://deb.debian.org/debian
PACKAGES="python3-transformers python3-torch python3-tokenizers python3-safetensors"
# The mirror's sid Release file may be "expired" against a machine clock that runs ahead; the
# packages are still signed, so only the date check is relaxed.
APT="apt-get -o Acquire::Check-Valid-Until=false"

say() { printf '[setup-hf-sid] %s\n' "$*"; }
# The versions, last line only (torch may first print a UCX line about /proc in a bare chroot).
versions() { chroot "$ROOT" python3 -c 'import transformers, torch; print("transformers", transformers.__version__, "torch", torch.__version__)' 2>/dev/null | tail -n 1; }

commands() {
  cat <<MSG
  apt-get install -y debootstrap
  debootstrap --variant=minbase sid $ROOT $MIRROR
  chroot $ROOT $APT update
  chroot $ROOT env DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends $PACKAGES
  chroot $ROOT python3 -c 'import transformers, torch; print(transformers.__version__, torch.__version__)'
MSG
}

if [ -x "$ROOT/usr/bin/python3" ] && chroot "$ROOT" python3 -c 'import transformers, tokenizers, safetensors, torch' >/dev/null 2>&1; then
  say "$ROOT ready: $(versions)"
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "needs root on Debian (debootstrap + chroot). The commands, to run as root on a Debian machine:"
  commands
  exit 1
fi

command -v debootstrap >/dev/null 2>&1 || apt-get install -y debootstrap
if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  say "debootstrap sid into $ROOT"
  debootstrap --variant=minbase sid "$ROOT" "$MIRROR"
fi
say "installing $PACKAGES"
chroot "$ROOT" $APT update -q
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends $PACKAGES
say "ready: $(versions)"
