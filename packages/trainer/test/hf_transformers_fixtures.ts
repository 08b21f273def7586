// The fixtures of hf_transformers.test.ts, written by transformers itself (scripts/hf_transformers.py,
// run with the python3 of the Debian sid chroot that scripts/setup-hf-sid.sh builds):
//
//   fixtures/hf/transformers/{mlm,seq_cls,token_cls}/   save_pretrained of tiny random BertFor… models
//       and BertTokenizer(Fast)s, with expected.json (transformers' ids and float64 logits);
//   fixtures/hf/transformers/export_check/<name>.json    our `export hf` of a source (EXPORT_SOURCES),
//       the sha256 of each exported file, and what transformers' from_pretrained said of that export
//       (loading info, warnings, tokenizer ids, float64 logits).
//
// Regenerate (as root, after a deliberate change of the export or of the fixtures):
//   bash scripts/setup-hf-sid.sh && node --import tsx packages/trainer/test/hf_transformers_fixtures.ts /opt/hf-sid
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { exportHf } from '../src/train/hf_export.js';
import { loadModel } from '../src/train/infer.js';
import { makeRoundtripCheckpoint, ROUNDTRIP_INPUTS } from './hf_roundtrip.js';
import { tmp, type Expected, type HfBatch } from './hf_helpers.js';

export const TRANSFORMERS_FIX = fileURLToPath(new URL('./fixtures/hf/transformers/', import.meta.url));
export const TRANSFORMERS_KINDS = ['mlm', 'seq_cls', 'token_cls'] as const;
/** The files of an export whose bytes transformers reads (hashed in export_check/<name>.json). */
export const EXPORT_FILES = ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'] as const;

export const transformersExpected = (kind: string) =>
  JSON.parse(readFileSync(join(TRANSFORMERS_FIX, kind, 'expected.json'), 'utf8')) as
    Expected & { versions: Record<string, string>; tokenizer_class: string; batchRows: number[] };

/** What `check` said about one of our exports (see scripts/hf_transformers.py). */
export interface TransformersCheck {
  versions: Record<string, string>;
  architecture: string;
  class: string;
  loading: Record<string, string[]>;
  warnings: string[];
  labels: string[] | null;
  ids: number[][];
  outputs: { logits: number[] };
  problems: string[];
}
export interface ExportCheck {
  about: string;
  source: string;
  sha256: Record<string, string>;
  inputs: { texts: string[]; pair?: [string, string]; batch: HfBatch };
  check: TransformersCheck;
}
export const exportCheck = (name: string) =>
  JSON.parse(readFileSync(join(TRANSFORMERS_FIX, 'export_check', `${name}.json`), 'utf8')) as ExportCheck;

/**
 * The checkpoints exported for the check: the round-trip tunebench checkpoint (token_cls + CRF + LoRA,
 * see hf_roundtrip.ts), and each transformers-written fixture re-exported by us. `make` writes the
 * source into `dir` (or names the committed fixture) and returns its path, and the inputs to run.
 */
export const EXPORT_SOURCES: Record<string, (dir: string) => { src: string; inputs: ExportCheck['inputs'] }> = {
  roundtrip: (dir) => {
    const src = join(dir, 'roundtrip-src');
    makeRoundtripCheckpoint(src);
    return { src, inputs: ROUNDTRIP_INPUTS };
  },
  ...Object.fromEntries(TRANSFORMERS_KINDS.map((kind) => [kind, () => {
    const e = transformersExpected(kind);
    return { src: join(TRANSFORMERS_FIX, kind), inputs: { texts: e.texts, pair: e.pair, batch: e.batch } };
  }])),
};

export function sha256Of(dir: string): Record<string, string> {
  return Object.fromEntries(EXPORT_FILES.map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]));
}

// Regenerate the committed fixtures (see the header).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const chroot = process.argv[2];
  if (!chroot) throw new Error('usage: hf_transformers_fixtures.ts CHROOT (e.g. /opt/hf-sid, from scripts/setup-hf-sid.sh)');
  // Work inside the chroot's /tmp, so its python3 sees the files without bind mounts.
  const inside = '/tmp/tunebench-hf';
  const work = join(chroot, inside);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  copyFileSync(fileURLToPath(new URL('../scripts/hf_transformers.py', import.meta.url)), join(work, 'hf_transformers.py'));
  const python = (...args: string[]) => {
    const r = spawnSync('nice', ['-n', '19', 'chroot', chroot, 'python3', `${inside}/hf_transformers.py`, ...args], { encoding: 'utf8' });
    if (r.stderr) process.stderr.write(r.stderr);
    return r;
  };
  // 1. transformers' own directories.
  const made = python('make', `${inside}/make`);
  if (made.status !== 0) throw new Error('hf_transformers.py make failed');
  for (const kind of TRANSFORMERS_KINDS) {
    rmSync(join(TRANSFORMERS_FIX, kind), { recursive: true, force: true });
    cpSync(join(work, 'make', kind), join(TRANSFORMERS_FIX, kind), { recursive: true });
  }
  // 2. our exports, read back by transformers.
  const checks = join(TRANSFORMERS_FIX, 'export_check');
  rmSync(checks, { recursive: true, force: true });
  mkdirSync(checks, { recursive: true });
  const scratch = tmp();
  let failed = false;
  for (const [name, make] of Object.entries(EXPORT_SOURCES)) {
    const { src, inputs } = make(scratch);
    const out = join(work, 'export', name);
    exportHf(src, out);
    writeFileSync(join(work, `${name}.inputs.json`), JSON.stringify(inputs));
    const r = python('check', `${inside}/export/${name}`, `${inside}/${name}.inputs.json`);
    if (r.status !== 0) failed = true;
    const record: ExportCheck = {
      about: `tunebench export hf of ${name}, read by transformers' from_pretrained (scripts/hf_transformers.py check); regenerate with test/hf_transformers_fixtures.ts`,
      // The JSON is check's last line (torch's UCX may print a line about /proc first in a bare chroot).
      source: name, sha256: sha256Of(out), inputs, check: JSON.parse(r.stdout.trim().split('\n').pop()!) as TransformersCheck,
    };
    writeFileSync(join(checks, `${name}.json`), JSON.stringify(record) + '\n');
    // Sanity: our importer reads what transformers read.
    loadModel(out);
    console.log(`${name}: ${record.check.class}, problems ${record.check.problems.length}, files ${readdirSync(out).join(' ')}`);
  }
  rmSync(scratch, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
  if (failed) throw new Error('transformers reported problems with an export (see above); the records were written anyway');
}
