// `tunebench bench merge --out DIR SRC...`: joins the records of sharded sweeps (each shard's
// output directory) into one output directory. Every record is validated; two different records
// of the same run are an error (the shards overlapped or a run was repeated with another config).
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadRecords } from './leaderboard.js';
import { RecordError } from './record.js';
import { recordPath } from './runner.js';

export function mergeRecords(outDir: string, sources: string[]): { copied: number; identical: number } {
  if (!sources.length) throw new Error('merge: give at least one source output directory');
  let copied = 0, identical = 0;
  for (const src of sources) {
    const recDir = join(resolve(src), 'records');
    if (!existsSync(recDir)) throw new RecordError(`merge: ${src} has no records/ directory (is it a sweep's output directory?)`);
    for (const rec of loadRecords(recDir)) {
      const dst = recordPath(resolve(outDir), rec.runId);
      if (existsSync(dst)) {
        const old = JSON.parse(readFileSync(dst, 'utf8')) as { metrics: unknown; seed: number; createdAt: string };
        if (JSON.stringify(old.metrics) === JSON.stringify(rec.metrics)) { identical++; continue; }
        throw new RecordError(`merge: ${rec.runId} exists in ${outDir} with other results (created ${old.createdAt}) than in ${src} (created ${rec.createdAt}); remove one of them`);
      }
      mkdirSync(dirname(dst), { recursive: true });
      const tmp = `${dst}.tmp-${process.pid}`;
      writeFileSync(tmp, JSON.stringify(rec, null, 2) + '\n');
      renameSync(tmp, dst);
      copied++;
    }
  }
  return { copied, identical };
}
