// resizeVocab: old rows and every other parameter kept; MLM logits of the old tokens unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bertReference, resizeVocab, toParams64, type HeadSpec } from '../../src/model/index.js';
import { randomBatch, randomStore, tinyConfig } from './helpers.js';

test('resizeVocab keeps the old model on the old tokens', () => {
  const config = tinyConfig();
  const heads: HeadSpec[] = [{ kind: 'mlm' }];
  const store = randomStore(config, heads, null, 3);
  const V = config.vocabSize, H = config.hiddenSize, V2 = V + 4;
  const wte = new Float32Array(V2 * H);
  wte.set(store.get('bert.embeddings.word_embeddings.weight'));
  for (let i = V * H; i < V2 * H; i++) wte[i] = Math.sin(i) * 0.1;
  const { config: c2, store: s2 } = resizeVocab(store, config, heads, null, V2, wte);
  assert.equal(c2.vocabSize, V2);
  assert.deepEqual(Array.from(s2.get('cls.predictions.bias').subarray(V)), [0, 0, 0, 0]);
  const batch = randomBatch(config, 2, 5, 1, 'token', V);
  const a = bertReference(config, heads, toParams64(store), batch, { grads: false });
  const b = bertReference(c2, heads, toParams64(s2), batch, { grads: false });
  for (let r = 0; r < 10; r++) for (let v = 0; v < V; v++) assert.equal(b.logits[r * V2 + v], a.logits[r * V + v]);
  assert.throws(() => resizeVocab(store, config, heads, null, V2, new Float32Array(3)), /wordEmbeddings has 3 floats/);
});
