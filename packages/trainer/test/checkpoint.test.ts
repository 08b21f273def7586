// safetensors against files written by Hugging Face's own `safetensors` package (fixtures made by
// fixtures/checkpoint/make_safetensors_fixture.py), checkpoint directories, loading checks, resume state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, readdirSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeConfig, paramSpecs, ParamStore, initParams, type HeadSpec } from '../src/model/index.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  writeCheckpoint,
  readCheckpoint,
  loadWeights,
  readOptimizer,
  writeDirAtomic,
  hfConfig,
  bertConfigFromHf,
  assertSameArchitecture,
} from '../src/checkpoint/index.js';

const FIX = new URL('./fixtures/checkpoint/', import.meta.url).pathname;
const tmp = () => mkdtempSync(join(tmpdir(), 'tb-ckpt-'));

test('reads a file written by Python safetensors: names, dtypes, shapes, values, metadata', () => {
  const { tensors, metadata } = decodeSafetensors(readFileSync(join(FIX, 'python_written.safetensors')));
  assert.deepEqual(metadata, { format: 'pt', note: 'fixture' });
  const w = tensors.get('bert.embeddings.word_embeddings.weight')!;
  assert.equal(w.dtype, 'F32');
  assert.deepEqual(w.shape, [5, 3]);
  assert.deepEqual([...w.data], Array.from({ length: 15 }, (_, i) => Math.fround(Math.fround(i / 7) - 1)));
  assert.deepEqual([...tensors.get('classifier.bias')!.data], [0.5, -1.25, Math.fround(3e-8)]);
  assert.deepEqual(tensors.get('empty')!.shape, [0, 4]);
  assert.equal(tensors.get('empty')!.data.length, 0);
  assert.deepEqual(tensors.get('scalar')!.shape, []);
  assert.deepEqual([...tensors.get('scalar')!.data], [2.5]);
  assert.equal(tensors.get('ids')!.dtype, 'I32');
  assert.deepEqual([...tensors.get('ids')!.data], [1, -2, 3]);
});

test('writes byte-for-byte what Python safetensors writes (F32 tensors, format metadata)', () => {
  const py = readFileSync(join(FIX, 'python_written_f32.safetensors'));
  const { tensors } = decodeSafetensors(py);
  const ours = encodeSafetensors(
    new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }])),
    { format: 'pt' },
  );
  assert.equal(Buffer.compare(Buffer.from(ours), py), 0);
});

test('encode → decode round-trips random tensors bit for bit; the data section starts 8-byte aligned', () => {
  fc.assert(
    fc.property(
      fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== '__metadata__'), fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }), { maxKeys: 6 }),
      fc.integer(),
      (shapes, seed) => {
        let s = seed >>> 0;
        const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
        for (const [name, shape] of Object.entries(shapes)) {
          const n = shape.reduce((a, b) => a * b, 1);
          const data = new Float32Array(n);
          const bits = new Uint32Array(data.buffer);
          for (let i = 0; i < n; i++) bits[i] = s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          tensors.set(name, { shape, data });
        }
        const bytes = encodeSafetensors(tensors, { k: 'v' });
        const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        assert.equal((8 + n) % 8, 0);
        const dec = decodeSafetensors(bytes);
        assert.deepEqual(dec.metadata, { k: 'v' });
        assert.equal(dec.tensors.size, tensors.size);
        for (const [name, t] of tensors) {
          const d = dec.tensors.get(name)!;
          assert.deepEqual(d.shape, t.shape);
          assert.deepEqual(new Uint32Array((d.data as Float32Array).buffer), new Uint32Array(t.data.buffer));
        }
      },
    ),
    { numRuns: 100 },
  );
});

test('corrupt safetensors files fail with what is wrong', () => {
  const good = encodeSafetensors({ a: { shape: [2], data: new Float32Array([1, 2]) } });
  assert.throws(() => decodeSafetensors(good.subarray(0, 5), 'x.safetensors'), /x\.safetensors: not a safetensors file/);
  assert.throws(() => decodeSafetensors(good.subarray(0, good.length - 4), 'x.safetensors'), /tensors cover 8 bytes but the data section has 4|bad data_offsets/);
  const badLen = good.slice();
  new DataView(badLen.buffer).setBigUint64(0, 10_000n, true);
  assert.throws(() => decodeSafetensors(badLen, 'x.safetensors'), /header length 10000 exceeds the file/);
  const mk = (header: object, dataBytes: number) => {
    const json = Buffer.from(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + dataBytes);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  assert.throws(() => decodeSafetensors(mk({ a: { dtype: 'BF16', shape: [1], data_offsets: [0, 2] } }, 2)), /unsupported dtype "BF16"/);
  assert.throws(() => decodeSafetensors(mk({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4)), /spans 4 bytes but F32\[2\] needs 8/);
  assert.throws(
    () => decodeSafetensors(mk({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12)),
    /tensor 'b' starts at byte 8, expected 4 \(hole or overlap/,
  );
});

const heads: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 3, pooling: 'cls' }];
const config = makeConfig({ numLayers: 2, hiddenSize: 8, numHeads: 2, intermediateSize: 16 }, 20, { maxPositions: 16 });

test('a checkpoint directory round-trips weights, config, vocab, optimizer state and trainer state', () => {
  const dir = join(tmp(), 'ckpt');
  const store = new ParamStore(paramSpecs(config, heads));
  initParams(store, 11);
  const m = Float32Array.from({ length: store.totalSize }, (_, i) => i * 1e-3);
  const v = Float32Array.from({ length: store.totalSize }, (_, i) => i * 1e-6);
  const names = ['classifier.weight', 'classifier.bias'];
  const vocab = Array.from({ length: 20 }, (_, i) => (i === 0 ? '[PAD]' : `tok${i}`));
  writeCheckpoint(dir, store, { config: hfConfig(config, { heads }), vocab, optimizer: { m, v, step: 7, names }, trainerState: { step: 7, sampler: { epoch: 1, index: 3 } } }, store);
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'vocab.txt']);
  assert.deepEqual(readdirSync(join(dir, '..')), ['ckpt'], 'no temp files left behind');

  const ck = readCheckpoint(dir);
  assert.deepEqual(ck.vocab, vocab);
  assert.deepEqual(ck.trainerState, { step: 7, sampler: { epoch: 1, index: 3 } });
  assert.deepEqual(bertConfigFromHf(ck.config), config);
  assert.equal(ck.config.model_type, 'bert');
  assert.equal(ck.config.num_hidden_layers, 2);
  const fresh = new ParamStore(paramSpecs(config, heads));
  const rep = loadWeights(fresh, ck.weights);
  assert.equal(rep.loaded.length, store.specs.length);
  for (const s of store.specs) assert.deepEqual(fresh.get(s.name), store.get(s.name), s.name);

  const opt = readOptimizer(dir, fresh, fresh.totalSize);
  assert.equal(opt.step, 7);
  assert.deepEqual(opt.names.sort(), [...names].sort());
  for (const n of names) {
    const r = fresh.range(n);
    assert.deepEqual(opt.m.subarray(r.offset, r.offset + r.length), m.subarray(r.offset, r.offset + r.length));
    assert.deepEqual(opt.v.subarray(r.offset, r.offset + r.length), v.subarray(r.offset, r.offset + r.length));
  }
  // moments of parameters not saved stay zero
  const r0 = fresh.range('bert.embeddings.word_embeddings.weight');
  assert.ok(opt.m.subarray(r0.offset, r0.offset + r0.length).every((x) => x === 0));
});

test('loading says exactly which names and shapes differ', () => {
  const dir = join(tmp(), 'ckpt');
  const store = new ParamStore(paramSpecs(config, heads));
  initParams(store, 1);
  writeCheckpoint(dir, store, { config: hfConfig(config) });
  const ck = readCheckpoint(dir);
  // 5 labels instead of 3: classifier shapes differ
  const other = new ParamStore(paramSpecs(config, [{ kind: 'seq_cls', numLabels: 5, pooling: 'cls' }]));
  assert.throws(() => loadWeights(other, ck.weights, { source: dir }), (e: Error) => {
    assert.match(e.message, /does not match the model/);
    assert.match(e.message, /classifier\.weight: checkpoint \[3, 8\] vs model \[5, 8\]/);
    assert.match(e.message, /classifier\.bias: checkpoint \[3\] vs model \[5\]/);
    return true;
  });
  // MLM model from a classification checkpoint: MLM head missing, pooler/classifier unexpected
  const mlm = new ParamStore(paramSpecs(config, [{ kind: 'mlm' }]));
  assert.throws(() => loadWeights(mlm, ck.weights), (e: Error) => {
    assert.match(e.message, /missing from the checkpoint \(5\):[\s\S]*cls\.predictions\.bias/);
    assert.match(e.message, /not in the model \(4\):[\s\S]*bert\.pooler\.dense\.weight[\s\S]*classifier\.bias/);
    return true;
  });
  // ... unless allowed (fine-tuning a new head from a base model)
  const rep = loadWeights(mlm, ck.weights, { allowMissing: (n) => n.startsWith('cls.'), allowUnexpected: () => true });
  assert.equal(rep.missing.length, 5);
  assert.equal(rep.unexpected.length, 4);
  assert.deepEqual(mlm.get('bert.encoder.layer.1.output.dense.weight'), store.get('bert.encoder.layer.1.output.dense.weight'));
});

test('a checkpoint from another model configuration is refused with the differing keys', () => {
  const bigger = makeConfig({ numLayers: 4, hiddenSize: 16, numHeads: 2, intermediateSize: 16 }, 20, { maxPositions: 16 });
  assert.throws(() => assertSameArchitecture(config, bertConfigFromHf(hfConfig(bigger)), 'runs/x/checkpoint'), (e: Error) => {
    assert.match(e.message, /runs\/x\/checkpoint was saved from a different model configuration/);
    assert.match(e.message, /num_hidden_layers: checkpoint 4 vs requested 2/);
    assert.match(e.message, /hidden_size: checkpoint 16 vs requested 8/);
    assert.doesNotMatch(e.message, /intermediate_size/);
    return true;
  });
  assert.doesNotThrow(() => assertSameArchitecture(config, bertConfigFromHf(hfConfig({ ...config, hiddenDropout: 0 })), 'x'));
  assert.throws(() => bertConfigFromHf({ vocab_size: 3 }, 'm/config.json'), /m\/config\.json: missing key 'hidden_size'/);
});

test('atomic directory writes: a failure mid-write leaves the previous checkpoint intact', () => {
  const root = tmp();
  const dir = join(root, 'ckpt');
  writeDirAtomic(dir, (t) => writeFileSync(join(t, 'a.txt'), 'old'));
  assert.throws(
    () =>
      writeDirAtomic(dir, (t) => {
        writeFileSync(join(t, 'a.txt'), 'new');
        throw new Error('killed');
      }),
    /killed/,
  );
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'old');
  assert.deepEqual(readdirSync(root), ['ckpt']);
  writeDirAtomic(dir, (t) => writeFileSync(join(t, 'b.txt'), 'new'));
  assert.deepEqual(readdirSync(dir), ['b.txt']);
  assert.deepEqual(readdirSync(root), ['ckpt']);
  rmSync(root, { recursive: true });
  assert.throws(() => readCheckpoint(join(root, 'nope')), /checkpoint directory .*nope does not exist/);
  assert.ok(!existsSync(root));
});
