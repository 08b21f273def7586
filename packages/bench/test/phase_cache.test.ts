// The phase cache (src/phase_cache.ts): its key changes with every resolved-config field, the
// seed, the init (base model hash or the key of the phase it starts from), the inputs' hashes and
// the backend, and with nothing else (output paths, run ids, key order, values equal to the
// defaults); a sweep whose strategies share a phase runs it once (counted in the fake trainer's
// child processes), --no-cache runs it again with the same numbers, a crashed phase is never
// cached, a damaged entry is ignored with a message, and shards on one folder run a shared phase
// once. The same on the real trainer, bit for bit: phase_cache.micro.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { TRAIN_SCHEMA } from '@tunebench/trainer';
import { PRESETS, applyOverrides, loadRecords, manifestHash, planSweep, recordPath, repoRoot, runSweep, parseShard, mergeRecords, writeReports, type PhasePlan, type RunRecord, type SweepPlan } from '../src/index.js';
import { ENTRY_FILE, INPUT_KEYS, MODEL_FILES, PhaseCache, canonicalJson, initIdentity, modelSha256, phaseKey, phaseKeyMaterial, type InitIdentity, type PhaseKeyMaterial } from '../src/phase_cache.js';
import { EDGE_VARIANTS } from '../src/edge/config.js';
import { EDGE_MODEL_NAMES } from '../src/suites/edge.js';

const fake = fileURLToPath(new URL('./fixtures/fake-trainer.mjs', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'tunebench-cache-'));
const calls = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);
const BASE: InitIdentity = { checkpointSha256: 'b'.repeat(64) };
const ctx = { root: repoRoot, manifestHash };

function material(p: PhasePlan, init: InitIdentity = BASE, backend = 'gpu'): PhaseKeyMaterial {
  return phaseKeyMaterial(p, init, backend, ctx);
}

/** micro: domain b_continued (+ baseline a_base_finetune) and masking rate15_random, one seed. */
function sharedPlan(seeds = [0]): SweepPlan {
  return planSweep(PRESETS.micro, { suites: ['domain', 'masking'], strategies: ['b_continued', 'rate15_random'], seeds });
}
const phaseOf = (p: SweepPlan, runId: string, phase: string) => p.runs.find((r) => r.runId === runId)!.phases.find((x) => x.name === phase)!;

/** Every leaf of a JSON value (arrays also as a whole), as paths. */
function leaves(v: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return [path, ...v.flatMap((x, i) => leaves(x, [...path, i]))];
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]));
  return [path];
}
function mutateAt(root: unknown, path: (string | number)[], how: number): unknown {
  const copy = structuredClone(root);
  const change = (x: unknown): unknown => {
    if (Array.isArray(x)) return how % 2 || !x.length ? [...x, x[0] ?? 1] : x.slice(1);
    if (typeof x === 'number') return how % 2 ? x + 1 : x === 0 ? 0.5 : -x;
    if (typeof x === 'boolean') return !x;
    if (typeof x === 'string') return how % 2 ? `${x}_` : `${x}`.toUpperCase() === x ? `${x}x` : x.toUpperCase();
    return how % 2 ? 0 : 'x'; // null
  };
  if (!path.length) return change(copy);
  let o = copy as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) o = o[p] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  o[last] = change(o[last]);
  return copy;
}

test('the key changes with any one resolved-config field, the seed, the init, an input hash or the backend', () => {
  const p = sharedPlan();
  const phases = [phaseOf(p, 'domain/email/b_continued/seed0', 'pretrain'), phaseOf(p, 'domain/email/b_continued/seed0', 'finetune'), planSweep(PRESETS.micro, { suites: ['freezing'], strategies: ['lora_r4'], seeds: [0] }).runs.find((r) => r.strategy === 'lora_r4')!.phases[0]!];
  for (const ph of phases) {
    const m = material(ph);
    const k = phaseKey(m);
    const paths = leaves(m.config).filter((x) => x.length);
    assert.ok(paths.length > 50, `a resolved config has every default (${paths.length} fields)`);
    fc.assert(fc.property(fc.constantFrom(...paths), fc.nat(), (path, how) => {
      const changed = { ...m, config: mutateAt(m.config, path, how) as Record<string, unknown> };
      assert.notDeepEqual(changed.config, m.config);
      assert.notEqual(phaseKey(changed), k, `changing config.${path.join('.')} must change the key`);
    }), { numRuns: 300 });
  }
  const m = material(phases[0]!);
  const k = phaseKey(m);
  fc.assert(fc.property(fc.stringMatching(/^[0-9a-f]{64}$/), (h) => {
    fc.pre(h !== 'b'.repeat(64));
    assert.notEqual(phaseKey({ ...m, init: { checkpointSha256: h } }), k, 'another base model');
    assert.notEqual(phaseKey({ ...m, init: { phaseKey: h } }), phaseKey({ ...m, init: { phaseKey: 'c'.repeat(64) } }), 'another producing phase');
    assert.notEqual(phaseKey({ ...m, inputs: { ...m.inputs, 'data.dataset': `dataset:${h}` } }), k, 'another dataset content');
  }));
  assert.notEqual(phaseKey({ ...m, init: { none: true } }), k);
  assert.notEqual(phaseKey(material(phases[0]!, BASE, 'cpu')), k, 'the backend');
  assert.notEqual(phaseKey({ ...m, command: 'finetune' }), k);
  assert.equal(m.inputs['data.dataset'], `dataset:${manifestHash('email')}`);
  // The seed: every seed gives its own key (plans with two seeds, any pair).
  fc.assert(fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }), (a, b) => {
    fc.pre(a !== b);
    const two = sharedPlan([a, b]);
    const key = (s: number) => phaseKey(material(phaseOf(two, `domain/email/b_continued/seed${s}`, 'pretrain')));
    assert.notEqual(key(a), key(b));
  }), { numRuns: 20 });
});

test('the key ignores output paths, run ids, key order and values equal to the defaults', () => {
  const p = sharedPlan();
  const pre = phaseOf(p, 'domain/email/b_continued/seed0', 'pretrain');
  const k = phaseKey(material(pre));
  fc.assert(fc.property(fc.string(), (dir) => {
    assert.equal(phaseKey(material({ ...pre, config: applyOverrides(pre.config, { outputDir: `/somewhere/${dir}` }) })), k);
  }), { numRuns: 50 });
  // A default given explicitly is the same resolved config.
  assert.equal(phaseKey(material({ ...pre, config: applyOverrides(pre.config, { 'optimizer.beta1': 0.9, 'training.saveEvery': 0 }) })), k);
  // Two suites, two run ids, two lists of overrides, one phase: domain's b_continued and
  // masking's rate15_random pretrain the same way (and then fine-tune the same way).
  assert.equal(phaseKey(material(phaseOf(p, 'masking/email/rate15_random/seed0', 'pretrain'))), k);
  // Key order never matters (canonical JSON).
  const shuffle = (v: unknown, r: () => number): unknown => {
    if (Array.isArray(v)) return v.map((x) => shuffle(x, r));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([a, x]) => [a, shuffle(x, r)] as const).sort(() => r() - 0.5));
    return v;
  };
  fc.assert(fc.property(fc.jsonValue(), fc.integer(), (v, seed) => {
    let s = seed;
    const r = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    assert.equal(canonicalJson(shuffle(v, r)), canonicalJson(v));
  }));
  // The init of a phase after pretraining is the key of that pretraining.
  assert.deepEqual(initIdentity('$pretrain', { baseSha256: () => 'x', pretrainKey: k }), { phaseKey: k });
  assert.deepEqual(initIdentity('$base', { baseSha256: () => 'x'.repeat(64), pretrainKey: null }), { checkpointSha256: 'x'.repeat(64) });
});

test('the quick preset shares phases between its suites (212 phases, 185 keys; ner adds 4, fewshot 112, costly 10 and edge 6 unshared keys (costly\'s decision variants score ce\'s fine-tune); base_check\'s pretrained rows are other suites\' full fine-tunes; the edge rows of one model share its phase)', () => {
  const base = tmp();
  writeFileSync(join(base, 'config.json'), JSON.stringify({ vocab_size: 100 }));
  const p = planSweep(PRESETS.quick, { baseDir: base });
  const byKey = new Map<string, string[]>();
  for (const r of p.runs) {
    let pretrainKey: string | null = null;
    let trainKey: string | null = null;
    for (const ph of r.phases) {
      const k = phaseKey(material(ph, initIdentity((ph.config.model as { init?: unknown }).init, { baseSha256: () => 'b'.repeat(64), pretrainKey, trainKey })));
      if (ph.name === 'pretrain') pretrainKey = k;
      if (ph.name === 'train') trainKey = k;
      byKey.set(k, [...(byKey.get(k) ?? []), `${r.runId} ${ph.name}`]);
    }
  }
  const shared = [...byKey.values()].filter((v) => v.length > 1).map((v) => v.sort().join(' = ')).sort();
  // edge: one phase per model, shared by its deployment variants' rows (<model>.fp32, .int8, .onnx, .onnx_int8)
  const edgeShared = shared.filter((x) => x.startsWith('edge/'));
  assert.deepEqual(edgeShared, EDGE_MODEL_NAMES.map((m) => EDGE_VARIANTS.map((v) => `edge/wn_topic/${m}.${v}/seed0 finetune`).sort().join(' = ')).sort());
  assert.deepEqual(shared.filter((x) => !x.startsWith('edge/')), [
    'base_check/email/pretrained/seed0 finetune = domain/email/a_base_finetune/seed0 finetune = sensitivity/email/ft_lr_3e-4/seed0 finetune',
    'base_check/ner_en/pretrained/seed0 finetune = ner/ner_en/first_subtoken/seed0 finetune',
    'base_check/wn_topic/pretrained/seed0 finetune = freezing/wn_topic/full/seed0 finetune',
    'costly/changelog_urgency/ce.min_cost/seed0 train = costly/changelog_urgency/ce.threshold/seed0 train = costly/changelog_urgency/ce/seed0 finetune',
    'domain/email/a_base_finetune/seed0 probe = zh_vocab/zh_poetry/en_base/seed0 probe',
    'domain/email/b_continued/seed0 finetune = masking/email/rate15_random/seed0 finetune',
    'domain/email/b_continued/seed0 pretrain = masking/email/rate15_random/seed0 pretrain',
  ]);
  // 76 trainer phases of the trainer suites (costly's 12 among them: 10 scored phases, of which the
  // decision variants ce.threshold and ce.min_cost are `score` phases of their `train` phase, which
  // is ce's fine-tune: 10 keys; base_check's 8, of which only the 3 random_init fine-tunes and the 2 zh_poetry ones
  // (from models/tiny-zh-base) are new; zh_vocab's en_base mlm_eval, its own command, shares no
  // key) + 112 fewshot phases (10 strategies × k 8, 32 × 2 datasets × 2 seeds, and 8 strategies on
  // zh_poetry: no *_st there), none of which shares a key
  // (+ the edge suite's 24 phases, one per row (6 models × 4 deployment variants) and 6 keys, one
  // per model: its rows share it, and no other suite's, since edge has its own command)
  assert.equal(p.runs.filter((r) => r.suite !== 'fewshot' && r.suite !== 'edge').reduce((s, r) => s + r.phases.length, 0), 76);
  assert.equal(p.runs.filter((r) => r.suite === 'costly').reduce((s, r) => s + r.phases.length, 0), 12);
  assert.equal(p.runs.filter((r) => r.suite === 'fewshot').reduce((s, r) => s + r.phases.length, 0), 112);
  assert.equal(p.runs.filter((r) => r.suite === 'edge').reduce((s, r) => s + r.phases.length, 0), 6 * EDGE_VARIANTS.length);
  assert.equal(byKey.size, 57 + 10 + 112 + 6);
  rmSync(base, { recursive: true, force: true });
});

test('every string-valued trainer config key is either a hashed input or known not to name a file', () => {
  const strings: string[] = [];
  const walk = (s: { type?: unknown; properties?: Record<string, object>; anyOf?: { type?: unknown }[] }, path: string) => {
    if (s.properties) for (const [k, x] of Object.entries(s.properties)) walk(x, path ? `${path}.${k}` : k);
    const types = [s.type, ...(s.anyOf ?? []).map((a) => a.type)].flat();
    if (types.includes('string')) strings.push(path);
  };
  walk(TRAIN_SCHEMA as never, '');
  const notFiles = ['$schema', 'outputDir', 'model.init', 'training.earlyStopping.metric', 'task.costlyClass'];
  assert.deepEqual(strings.filter((k) => !notFiles.includes(k)).sort(), [...INPUT_KEYS].sort(), 'a new key that names a file must be hashed by the phase cache (INPUT_KEYS)');
});

async function sweep(p: SweepPlan, outDir: string, env: Record<string, string>, o: { cache?: boolean; shard?: string; retries?: number; baseDir?: string } = {}) {
  const lines: string[] = [];
  const s = await runSweep(p, {
    outDir, backend: 'cpu', childCommand: [process.execPath, fake], env, log: (l) => lines.push(l), cache: o.cache, shard: o.shard ? parseShard(o.shard) : null, retries: o.retries, baseDir: o.baseDir,
  });
  return { s, lines };
}
const numbers = (r: RunRecord) => ({ runId: r.runId, metrics: r.metrics, tokens: r.tokens, wallTimeS: r.wallTimeS, trainable: r.trainableParams, total: r.totalParams, curve: r.curve, phases: r.phases.map((x) => [x.name, x.main_score, x.tokens, x.steps]) });
const byId = (dir: string) => loadRecords(join(dir, 'records')).sort((a, b) => a.runId.localeCompare(b.runId));

test('two strategies with an identical phase run it once; --no-cache runs it again with the same numbers', async () => {
  const p = sharedPlan();
  const cached = tmp(), plain = tmp();
  const a = await sweep(p, cached, { FAKE_CALLS: join(cached, 'calls.txt') });
  const b = await sweep(p, plain, { FAKE_CALLS: join(plain, 'calls.txt') }, { cache: false });
  // base + a_base_finetune (finetune, probe) + b_continued (pretrain, finetune, probe) + rate15_random (nothing)
  const cmd = (dir: string) => calls(join(dir, 'calls.txt')).map((l) => l.split(' ')[1]!.slice(dir.length + 1));
  assert.deepEqual(cmd(cached), ['base', ...['a_base_finetune/seed0/finetune', 'a_base_finetune/seed0/probe', 'b_continued/seed0/pretrain', 'b_continued/seed0/finetune', 'b_continued/seed0/probe'].map((x) => `runs/domain/email/${x}`)]);
  assert.deepEqual(a.s.phases, { ran: 5, cached: 2, resumed: 0 });
  // --no-cache: rate15_random's two phases run in their own child processes.
  assert.deepEqual(cmd(plain).slice(-2), ['runs/masking/email/rate15_random/seed0/pretrain', 'runs/masking/email/rate15_random/seed0/finetune']);
  assert.equal(cmd(plain).length, 8);
  assert.deepEqual(b.s.phases, { ran: 7, cached: 0, resumed: 0 });
  assert.ok(!existsSync(join(plain, 'cache')), '--no-cache writes no cache');

  // The record names the cached phases and the run that made them.
  const r15 = loadRecords(join(cached, 'records')).find((r) => r.strategy === 'rate15_random')!;
  const bc = loadRecords(join(cached, 'records')).find((r) => r.strategy === 'b_continued')!;
  assert.deepEqual(r15.phases.map((x) => x.cachedFrom && `${x.cachedFrom.runId} ${x.cachedFrom.phase}`), ['domain/email/b_continued/seed0 pretrain', 'domain/email/b_continued/seed0 finetune']);
  assert.deepEqual(r15.phases.map((x) => x.cacheKey), bc.phases.slice(0, 2).map((x) => x.cacheKey));
  assert.ok(bc.phases.every((x) => x.cachedFrom === undefined && /^[0-9a-f]{64}$/.test(x.cacheKey ?? '')));
  assert.ok(a.lines.some((l) => /pretrain +email .*from the cache \(domain\/email\/b_continued\/seed0 pretrain\)/.test(l)));
  assert.ok(loadRecords(join(plain, 'records')).every((r) => r.phases.every((x) => x.cacheKey === undefined && x.cachedFrom === undefined)));

  // Same numbers with and without the cache: records and leaderboard rows.
  assert.deepEqual(byId(cached).map(numbers), byId(plain).map(numbers));
  const rows = (dir: string) => writeReports(dir, { resamples: 200 }).rows.map((r) => JSON.stringify(r));
  assert.deepEqual(rows(cached), rows(plain));
  for (const d of [cached, plain]) rmSync(d, { recursive: true, force: true });
});

test('a crashed phase is never cached; a damaged entry is ignored with a message and the phase runs again', async () => {
  const p = sharedPlan();
  const out = tmp();
  const callsFile = join(out, 'calls.txt');
  // b_continued's pretraining crashes every time: rate15_random must pretrain itself.
  const s1 = await sweep(p, out, { FAKE_CALLS: callsFile, FAKE_CRASH_ALWAYS: 'b_continued/seed0/pretrain' }, { retries: 0 });
  assert.deepEqual(s1.s.failed.map((f) => f.runId), ['domain/email/b_continued/seed0']);
  assert.ok(calls(callsFile).some((l) => l.includes('rate15_random/seed0/pretrain')));
  const entries = () => readdirSync(join(out, 'cache', 'phases')).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => JSON.parse(readFileSync(join(out, 'cache', 'phases', n, ENTRY_FILE), 'utf8')));
  assert.ok(entries().every((e) => !e.producer.runId.includes('b_continued')), 'nothing of the crashed run is cached');
  assert.equal(entries().length, 4, 'a_base_finetune (2) and rate15_random (2)');
  // Now b_continued runs: its pretrain and finetune come from rate15_random's entries.
  const s2 = await sweep(p, out, { FAKE_CALLS: callsFile });
  assert.deepEqual(s2.s.phases, { ran: 1, cached: 2, resumed: 0 }, 'only the probe runs');

  // Damage two entries: truncate a file of one, drop the entry file of the other.
  const r15 = loadRecords(join(out, 'records')).find((r) => r.strategy === 'rate15_random')!;
  const [kPre, kFt] = r15.phases.map((x) => x.cacheKey!);
  const cacheDir = join(out, 'cache', 'phases');
  appendFileSync(join(cacheDir, kPre!, 'metrics.json'), ' ');
  rmSync(join(cacheDir, kFt!, ENTRY_FILE));
  rmSync(recordPath(out, r15.runId));
  rmSync(join(out, 'runs', r15.runId), { recursive: true });
  const before = calls(callsFile).length;
  const s3 = await sweep(p, out, { FAKE_CALLS: callsFile });
  assert.equal(s3.s.done, 1);
  assert.deepEqual(calls(callsFile).slice(before).map((l) => l.split('/').slice(-2).join('/')), ['seed0/pretrain', 'seed0/finetune']);
  assert.ok(s3.lines.some((l) => new RegExp(`phase cache: entry cache/phases/${kPre} is damaged \\(metrics.json has \\d+ bytes, not \\d+\\)`).test(l)), s3.lines.join('\n'));
  assert.ok(s3.lines.some((l) => new RegExp(`phase cache: entry cache/phases/${kFt} is damaged \\(cache-entry.json: ENOENT\\)`).test(l)));
  // ... and both entries are whole again.
  const cache = new PhaseCache(out, () => assert.fail('no damage left'));
  assert.ok(cache.lookup(kPre!) && cache.lookup(kFt!));
  rmSync(out, { recursive: true, force: true });
});

test('shards of one sweep on a shared folder run a shared phase once', async () => {
  const out = tmp();
  const base = join(out, 'fake-base');
  mkdirSync(base);
  writeFileSync(join(base, 'config.json'), JSON.stringify({ vocab_size: 100 }));
  writeFileSync(join(base, 'vocab.txt'), '[PAD]\n');
  writeFileSync(join(base, 'model.safetensors'), 'weights');
  const p = planSweep(PRESETS.quick, { suites: ['domain', 'masking'], strategies: ['b_continued', 'rate15_random'], seeds: [0], baseDir: base });
  assert.deepEqual(p.runs.map((r) => r.strategy), ['a_base_finetune', 'b_continued', 'rate15_random']);
  const shared = join(out, 'shared'), single = join(out, 'single');
  const callsFile = join(out, 'calls.txt');
  // Shard 2 runs b_continued (slow pretraining), shard 1 meanwhile a_base_finetune, then rate15_random.
  const env = { FAKE_CALLS: callsFile, FAKE_DELAY: 'b_continued/seed0/pretrain:1500' };
  const [s1, s2] = await Promise.all([sweep(p, shared, env, { shard: '1/2', baseDir: base }), sweep(p, shared, env, { shard: '2/2', baseDir: base })]);
  assert.equal(s1.s.done + s2.s.done, 3);
  const pretrains = calls(callsFile).filter((l) => l.startsWith('pretrain'));
  assert.equal(pretrains.length, 1, pretrains.join('\n'));
  assert.equal(calls(callsFile).length, 5);
  assert.deepEqual(readdirSync(join(shared, 'cache', 'phases')).filter((n) => !/^[0-9a-f]{64}$/.test(n)), [], 'no lock or temp directory left');
  await sweep(p, single, {}, { baseDir: base });
  // The shards staged their records (shards/<i>of<n>/records/); the merge joins them into records/.
  assert.equal(mergeRecords(shared, [shared]).copied, 3);
  assert.deepEqual(byId(shared).map(numbers), byId(single).map(numbers));
  rmSync(out, { recursive: true, force: true });
});

test('claim: one holder at a time; a waiter gets the published entry, or the lock when the holder fails or died', async () => {
  const out = tmp();
  const lines: string[] = [];
  const cache = new PhaseCache(out, (l) => lines.push(l));
  const key = 'a'.repeat(64);
  const phaseDir = join(out, 'phase');
  mkdirSync(join(phaseDir, 'checkpoint'), { recursive: true });
  writeFileSync(join(phaseDir, 'metrics.json'), '{"steps":3}');
  writeFileSync(join(phaseDir, 'config.json'), '{"config":{}}');
  writeFileSync(join(phaseDir, 'checkpoint', 'model.safetensors'), 'w');
  const m = material(phaseOf(sharedPlan(), 'domain/email/b_continued/seed0', 'pretrain'));
  const producer = { runId: 'x/y', phase: 'pretrain', gitRevision: null };

  // The holder publishes: the waiter gets the entry.
  const first = await cache.claim(key, 60, 20);
  assert.ok('release' in first);
  const waiting = cache.claim(key, 60, 20);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(lines.some((l) => /another process is running this phase \(pid \d+ on .* since/.test(l)));
  cache.publish(key, m, phaseDir, producer);
  first.release();
  const got = await waiting;
  assert.ok('entry' in got && got.entry.producer.runId === 'x/y' && got.entry.files['checkpoint/model.safetensors']?.size === 1);
  assert.equal(readFileSync(join(got.dir, 'checkpoint', 'model.safetensors'), 'utf8'), 'w');
  // Publishing again changes nothing (the first entry wins).
  cache.publish(key, { ...m, backend: 'other' }, phaseDir, { ...producer, runId: 'z/z' });
  assert.equal((cache.lookup(key)!).entry.producer.runId, 'x/y');

  // The holder fails (releases without publishing): the waiter gets the lock.
  const key2 = 'c'.repeat(64);
  const h = await cache.claim(key2, 60, 20);
  const w = cache.claim(key2, 60, 20);
  await new Promise((r) => setTimeout(r, 60));
  assert.ok('release' in h);
  h.release();
  const w2 = await w;
  assert.ok('release' in w2, 'the waiter runs the phase itself');
  w2.release();

  // A lock left by a process that is gone is taken over.
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => dead.on('close', r));
  const key3 = 'd'.repeat(64);
  writeFileSync(join(cache.root, `${key3}.lock`), JSON.stringify({ pid: dead.pid, host: (await import('node:os')).hostname(), at: new Date().toISOString() }));
  const taken = await cache.claim(key3, 60, 20);
  assert.ok('release' in taken);
  assert.ok(lines.some((l) => new RegExp(`taking over the lock of ddddddddddd.… \\(process ${dead.pid} is gone\\)`).test(l)));
  taken.release();
  rmSync(out, { recursive: true, force: true });
});

test('an init checkpoint is identified by its model files: weights, config, vocabulary and tokenizer change the key; README, logs, trainer state and optimizer moments do not', () => {
  const dir = tmp();
  try {
    assert.throws(() => modelSha256(join(dir, 'nope')), /is not a directory/);
    writeFileSync(join(dir, 'config.json'), '{"vocab_size": 3}');
    assert.throws(() => modelSha256(dir), /has no model.safetensors/);
    writeFileSync(join(dir, 'model.safetensors'), 'weights');
    writeFileSync(join(dir, 'vocab.txt'), 'a\nb\nc\n');
    const h0 = modelSha256(dir);
    assert.deepEqual(initIdentity(dir, { baseSha256: () => 'x', pretrainKey: null }), { checkpointSha256: h0 });
    for (const other of ['README.md', 'metrics.json', 'train_log.txt', 'trainer_state.json', 'optimizer.safetensors', 'run/log.txt']) {
      mkdirSync(join(dir, 'run'), { recursive: true });
      writeFileSync(join(dir, other), `edited ${Math.random()}`);
      assert.equal(modelSha256(dir), h0, `${other} is not part of the model`);
    }
    const seen = new Set([h0]);
    for (const f of MODEL_FILES) {
      writeFileSync(join(dir, f), `changed ${f}`);
      const h = modelSha256(dir);
      assert.ok(!seen.has(h), `${f} is part of the model`);
      seen.add(h);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
