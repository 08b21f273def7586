// npm run datasets:verify — checks datasets/ against datasets/manifest.json; exit 1 on any problem.
import { DATASETS_DIR } from './loader.js';
import { verifyManifest } from './manifest.js';

const t0 = Date.now();
const r = verifyManifest(DATASETS_DIR);
for (const p of r.problems) process.stderr.write(`${p}\n`);
process.stdout.write(`datasets:verify: ${r.files} files, ${r.rows} rows, ${(r.bytes / 1e6).toFixed(2)} MB, ` +
  `${r.problems.length} problem(s), ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
process.exit(r.problems.length ? 1 : 0);
