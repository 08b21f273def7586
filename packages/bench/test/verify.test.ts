// bench verify's choice of the base a record started from (the rerun itself: verify.micro.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBase, verifySweep } from '../src/verify.js';
import { makeRecord } from './helpers.js';

test('verify reruns a record from the base it started from: its dataset\'s own base when it has one (zh_poetry), else the sweep\'s; never one with another hash', () => {
  const root = mkdtempSync(join(tmpdir(), 'tunebench-verify-base-'));
  try {
    const model = (name: string, bytes: string) => {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'model.safetensors'), bytes);
      return { dir, sha256: createHash('sha256').update(bytes).digest('hex') };
    };
    const en = model('en', 'english weights'), zh = model('zh', 'chinese weights');
    const out = join(root, 'sweep');
    const rec = makeRecord({ suite: 'base_check', dataset: 'zh_poetry', strategy: 'pretrained', seed: 0, score: 0.7 });
    rec.baseModel = { source: en.dir, sha256: en.sha256 };
    // A zh_poetry run: the recorded init is the Chinese base; that is what is rerun, found by path or by its source.
    rec.datasetBase = { source: zh.dir, sha256: zh.sha256 };
    assert.equal(resolveBase(zh.dir, rec, out), zh.dir);
    assert.equal(resolveBase(join(root, 'elsewhere', 'tiny-zh-base'), rec, out), zh.dir);
    // Never the sweep's English base for it, even when the recorded path names that directory.
    assert.equal(resolveBase(en.dir, rec, out), zh.dir);
    // The same run without a dataset base starts from the sweep's base.
    delete rec.datasetBase;
    assert.equal(resolveBase(zh.dir, rec, out), en.dir);
    // Nothing with the recorded hash: an error naming the run.
    rec.baseModel = { source: join(root, 'gone'), sha256: 'f'.repeat(64) };
    assert.throws(() => resolveBase(en.dir, rec, out), /base_check\/zh_poetry\/pretrained\/seed0: its base model .* is not here with the recorded hash/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('verify --run names records; an unknown run id is an error before anything runs', () => {
  const out = mkdtempSync(join(tmpdir(), 'tunebench-verify-run-'));
  try {
    const rec = makeRecord({ suite: 'freezing', dataset: 'email', strategy: 'full', seed: 0, score: 0.5 });
    mkdirSync(join(out, 'records', 'freezing', 'email', 'full'), { recursive: true });
    writeFileSync(join(out, 'records', 'freezing', 'email', 'full', 'seed0.json'), JSON.stringify(rec));
    assert.throws(() => verifySweep(out, { sample: 1, runs: ['freezing/email/full/seed9'] }), /has no record of freezing\/email\/full\/seed9/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
