#!/usr/bin/env bash
# npm run setup: install the npm packages (from package-lock.json), then make sure a WebGPU
# adapter exists, installing the software Vulkan driver where we can. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] && [ "${TUNEBENCH_FORCE_CI:-}" != 1 ]; then
  echo "[setup] node_modules is up to date with package-lock.json; skipping npm ci"
else
  echo "[setup] npm ci"
  npm ci --no-audit --no-fund
fi
bash scripts/setup-vulkan.sh
bash scripts/setup-chromium.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
# Last word: can Dawn open an adapter? (prints what to install when not)
node --input-type=module -e "
import { register } from 'tsx/esm/api'; register();
const { openGpu } = await import('./packages/kernels/src/runtime.ts');
try { const g = await openGpu(); console.log('[setup] WebGPU adapter:', g.adapterInfo.description || g.adapterInfo.device); g.destroy(); }
catch (e) { console.error(e.message); process.exit(1); }
" 2> >(grep -v '^Warning: maxDynamic' >&2)
