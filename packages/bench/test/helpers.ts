// Synthetic, valid run records for the leaderboard and report tests.
import { RECORD_SCHEMA_VERSION, STRATEGY_BENCHMARK, type RunRecord } from '../src/record.js';

export function makeRecord(o: { suite?: string; dataset?: string; strategy: string; seed: number; score: number; trainable?: number; tokens?: number; preset?: string; hash?: string; params?: RunRecord['params'] }): RunRecord {
  const suite = o.suite ?? 'freezing', dataset = o.dataset ?? 'wn_topic';
  return {
    schemaVersion: RECORD_SCHEMA_VERSION,
    benchmark: STRATEGY_BENCHMARK,
    runId: `${suite}/${dataset}/${o.strategy}/seed${o.seed}`,
    suite,
    preset: o.preset ?? 'quick',
    strategy: o.strategy,
    params: o.params ?? { strategy: o.strategy },
    dataset,
    manifestHash: o.hash ?? 'a'.repeat(64),
    split: 'test',
    seed: o.seed,
    mainMetric: 'accuracy',
    metrics: { main_score: o.score, accuracy: o.score, macro_f1: o.score / 2 },
    trainableParams: o.trainable ?? 1000,
    totalParams: 100000,
    tokens: o.tokens ?? 5000,
    wallTimeS: 10,
    tokensPerSecond: 500,
    adapter: 'test adapter',
    gitRevision: '0123456789abcdef0123456789abcdef01234567',
    baseModel: { source: 'models/base', sha256: null },
    phases: [{ name: 'finetune', command: 'finetune', dataset, steps: 10, tokens: o.tokens ?? 5000, wallTimeS: 10, main_score: o.score, trainableParams: o.trainable ?? 1000, totalParams: 100000, config: {} }],
    curve: [{ step: 5, loss: 2, dev_main_score: o.score - 0.05 }, { step: 10, loss: 1, dev_main_score: o.score }],
    createdAt: '2026-11-28T12:00:00.000Z',
  };
}
