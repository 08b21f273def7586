#!/usr/bin/env node
// Runs node's own test runner over every *.test.ts under the given folders (or the given files) (Node 20's --test
// takes no globs), one file at a time: GPU tests share a 2-core software adapter, and running
// them side by side only makes each slower. fc-seed.mjs fixes fast-check's seed (FC_SEED overrides). TypeScript runs through tsx; --expose-gc lets the
// runtime test force garbage collection.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';

const fcSeed = pathToFileURL(resolve(dirname(fileURLToPath(import.meta.url)), 'fc-seed.mjs')).href;
const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['test'];
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') continue;
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(p);
  }
}
for (const r of roots) {
  const p = resolve(r);
  try {
    // A folder is searched; a single test file may be named too.
    if (statSync(p).isDirectory()) walk(p);
    else files.push(p);
  } catch (e) { if (e.code !== 'ENOENT') throw e; }
}
if (files.length === 0) {
  console.log(`no test files under ${roots.join(', ')}`);
  process.exit(0);
}
const r = spawnSync(process.execPath,
  ['--import', 'tsx', '--import', fcSeed, '--expose-gc', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR || '/tmp' } });
process.exit(r.status ?? 1);
