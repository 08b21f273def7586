// npm run datasets:verify — checks datasets/ against datasets/manifest.json; exit 1 on any problem.
import { DATASETS_DIR } from './loader.js';
import { verifyManifest } from './manifest.js';

const t0 = Date.now();
const r = verifyManifest(DATASETS_DIR);
for (const p of r.problems) process.stderr.write(`${p}\n`);
process.stdout.write(`datasets:verify: ${r.files} files, ${r.rows} rows, ${(r.bytes / 1e6).toFixed(2)} MB, ` +
  `${r.onDemandBytes ? `+ ${(r.onDemandBytes / 1e6).toFixed(2)} MB built on demand (not committed), ` : ''}${r.problems.length} problem(s), ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
for (const f of r.notBuilt) process.stdout.write(`datasets:verify: ${f} is not built here (on demand, not committed; see its card)\n`);
process.exit(r.problems.length ? 1 : 0);
