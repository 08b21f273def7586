// One few-shot phase (`tunebench fewshot --config <file>`), run by the sweep runner as a child
// process like a trainer phase: it writes config.json and metrics.json into outputDir in the
// trainer's layout (test.main_score, steps, tokens, wallTimeS, ...), so runner.ts builds the record
// as for any other phase. Besides the score, a phase that trains the encoder (setfit) measures how
// well the test embeddings separate the labels before and after the contrastive step
// (silhouette, nearest-centroid accuracy: test.separation_*) and writes projection.json (2-D PCA
// of the test embeddings, both states, with the labels) for the report's figure.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadInferConfig, loadRows, loadTrainConfig, runInference, runTraining, backendFactory, TEST_PREDICTIONS_FILE, type TrainRunConfig } from '@tunebench/trainer';
import { accuracy, precisionRecallF1 } from '@tunebench/eval';
import { checkFewshotConfig, type FewshotPhaseConfig } from './config.js';
import { drawLabelledSample, unlabelledPool, type LabelledRow } from './sample.js';
import { generatePairs } from './pairs.js';
import { argmaxRows, fitLogReg, predictProba } from './logreg.js';
import { centroidAccuracy, pca2, silhouetteCosine } from './separation.js';
import { closeEncoder, contrastiveTrain, embed, openEncoder, type Encoder } from './encoder.js';
import { startPhaseDir } from '../phase_dir.js';
import { pickPseudoLabels } from './pseudo_labels.js';

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

function labelledRows(dataset: string, split: 'train' | 'test', limit: number): LabelledRow[] {
  return loadRows(dataset, split, 'seq_cls', limit).map((r, i) => {
    if (typeof r.text !== 'string' || typeof r.label !== 'string') throw new Error(`${dataset} ${split} row ${i + 1} (id ${r.id}): expected text and label`);
    return { id: r.id, text: r.text, label: r.label };
  });
}

function classScores(yTrue: number[], yPred: number[], K: number): Record<string, number> {
  return {
    accuracy: accuracy(yTrue, yPred),
    macro_f1: precisionRecallF1(yTrue, yPred, { average: 'macro', labels: Array.from({ length: K }, (_, i) => i) }).f1,
    count: yTrue.length,
  };
}

function majority(y: number[]): number {
  const c = new Map<number, number>();
  for (const v of y) c.set(v, (c.get(v) ?? 0) + 1);
  return Math.max(...c.values()) / y.length;
}

export async function runFewshotPhase(raw: unknown, backend: 'gpu' | 'cpu', opts: { source?: string; log?: (l: string) => void } = {}): Promise<Record<string, unknown>> {
  const c = checkFewshotConfig(raw, opts.source);
  const log = opts.log ?? ((l: string) => console.log(l));
  const t0 = Date.now();
  const dir = c.outputDir;
  startPhaseDir(dir, 'fewshot', c);

  const labels = c.data.labels;
  const index = new Map(labels.map((l, i) => [l, i]));
  const train = labelledRows(c.data.dataset, 'train', 0);
  const test = labelledRows(c.data.dataset, 'test', c.data.maxEvalRows);
  const sample = drawLabelledSample(train, labels, c.data.shots, c.data.seed);
  writeFileSync(join(dir, 'sample.jsonl'), sample.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const yTest = test.map((r) => index.get(r.label)!);
  const ySample = sample.map((r) => index.get(r.label)!);
  log(`fewshot ${c.method}: ${c.data.dataset}, ${c.data.shots} shots × ${labels.length} labels = ${sample.length} labelled rows (seed ${c.data.seed}); ${test.length} test rows`);

  let metrics: Record<string, unknown>;
  if (c.method === 'finetune' || (c.method === 'self_training' && c.trainer)) metrics = await finetunePhase(c, sample, train, backend, log);
  else metrics = await embeddingPhase(c, sample, ySample, train, test, yTest, backend, log);

  const out: Record<string, unknown> = {
    command: 'fewshot',
    task: 'seq_cls',
    method: c.method,
    dataset: c.data.dataset,
    shots: c.data.shots,
    labelledRows: sample.length,
    sampleIds: sample.map((r) => r.id),
    majorityBaseline: { test: majority(yTest) },
    labels,
    ...metrics,
    wallTimeS: (Date.now() - t0) / 1000,
  };
  writeJsonAtomic(join(dir, 'metrics.json'), out);
  const t = out.test as { main_score?: number } | null;
  log(`done: test main_score ${t?.main_score?.toFixed(4) ?? '-'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return out;
}

/** How a round picks its pseudo-labels, for the log. */
const selectionRule = (st: { threshold: number; topPerClass: number }) =>
  `top probability ≥ ${st.threshold}${st.topPerClass > 0 ? `, the ${st.topPerClass} most confident per class` : ''}`;

/**
 * finetune: the trainer on the sample (the trainer's data.augment adds EDA copies), dev and test
 * from the dataset. self_training with a trainer section (the `full` teacher): then, each round,
 * the last model predicts the unlabelled pool (labels never read), the rows whose top probability
 * reaches the threshold join the sample with the predicted label, and a fresh model is fine-tuned
 * from the base on sample + pseudo-labels (a student, as in classic self-training); the scores are
 * the last model's, steps and tokens those of every training.
 */
async function finetunePhase(c: FewshotPhaseConfig, sample: LabelledRow[], train: LabelledRow[], backend: 'gpu' | 'cpu', log: (l: string) => void): Promise<Record<string, unknown>> {
  let lastRun = '';
  const trainOn = async (rows: readonly { id: string; text: string; label: string }[], dir: string) => {
    mkdirSync(dir, { recursive: true });
    const trainFile = join(dir, 'train.jsonl');
    writeFileSync(trainFile, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const cfgFile = join(dir, 'trainer.config.json');
    const nested = structuredClone(c.trainer!) as Record<string, Record<string, unknown>>;
    nested.model = { ...(nested.model ?? {}), init: c.model.init };
    nested.data = { ...(nested.data ?? {}), dataset: c.data.dataset, train: trainFile, maxTrainRows: 0, maxEvalRows: c.data.maxEvalRows, maxLength: c.data.maxLength };
    if (c.data.augment) nested.data.augment = c.data.augment;
    nested.task = { ...(nested.task ?? {}), kind: 'seq_cls', labels: c.data.labels };
    (nested as Record<string, unknown>).outputDir = join(dir, 'train');
    writeFileSync(cfgFile, JSON.stringify(nested, null, 2) + '\n');
    const cfg: TrainRunConfig = loadTrainConfig('finetune', { file: cfgFile });
    const r = await runTraining('finetune', cfg, { backend: backendFactory(backend), progress: false });
    lastRun = join(dir, 'train');
    return { m: r.metrics, checkpoint: join(dir, 'train', 'checkpoint') };
  };
  // The sample only; data.augment is the trainer's (EDA copies of its training rows, seeded by seeds.data).
  let { m, checkpoint } = await trainOn(sample, c.outputDir);
  let steps = Number(m.steps), tokens = Number(m.tokens);
  const augmented = Number(m.augmentedRows ?? 0);
  if (augmented > 0) log(`  EDA: ${augmented} copies added (${c.data.augment!.copies} per example)`);
  const extra: Record<string, number> = {};
  let trainRows = sample.length + augmented;
  if (c.selfTraining) {
    const pool = unlabelledPool(train, sample, c.data.poolRows);
    const poolFile = join(c.outputDir, 'pool.jsonl');
    writeFileSync(poolFile, pool.map((r) => JSON.stringify(r)).join('\n') + '\n');
    for (let round = 1; round <= c.selfTraining.rounds; round++) {
      const out = join(c.outputDir, `round${round}`, 'predict');
      const pc = loadInferConfig('predict', { sets: [`outputDir=${out}`, `checkpoint=${checkpoint}`, `data.file=${poolFile}`, `data.maxLength=${c.data.maxLength}`] });
      await runInference('predict', pc, backendFactory(backend), { progress: false });
      const preds = readFileSync(join(out, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; label: string; probs: number[] });
      const byId = new Map(pool.map((r) => [r.id, r]));
      const K = c.data.labels.length;
      const flat = preds.flatMap((p) => {
        if (p.probs.length !== K) throw new Error(`${out}/predictions.jsonl: row ${p.id} has ${p.probs.length} probabilities for ${K} labels`);
        return p.probs;
      });
      const picked = pickPseudoLabels(flat, K, c.selfTraining.threshold, c.selfTraining.topPerClass)
        .map((q) => ({ id: preds[q.index]!.id, text: byId.get(preds[q.index]!.id)!.text, label: c.data.labels[q.label]! }));
      extra[`pseudo_labelled_round${round}`] = picked.length;
      log(`  self-training round ${round}: ${picked.length} of ${pool.length} pool rows pseudo-labelled (${selectionRule(c.selfTraining)}); retraining from the base`);
      ({ m, checkpoint } = await trainOn([...sample, ...picked], join(c.outputDir, `round${round}`)));
      steps += Number(m.steps);
      tokens += Number(m.tokens);
      trainRows = sample.length + picked.length + Number(m.augmentedRows ?? 0);
    }
    extra.pool_rows = pool.length;
  }
  // The last model's per-example test predictions become the phase's (evidence sidecars).
  if (existsSync(join(lastRun, TEST_PREDICTIONS_FILE))) copyFileSync(join(lastRun, TEST_PREDICTIONS_FILE), join(c.outputDir, TEST_PREDICTIONS_FILE));
  const test = m.test ? { ...(m.test as Record<string, unknown>), ...extra } : m.test;
  return {
    steps, tokens, trainableParams: m.trainableParams, totalParams: m.totalParams, device: m.device,
    dev: m.dev, test, history: m.history, trainRows,
  };
}

/** frozen_lr, setfit, self_training: embeddings → logistic-regression head. */
async function embeddingPhase(
  c: FewshotPhaseConfig, sample: LabelledRow[], ySample: number[], train: LabelledRow[], test: LabelledRow[], yTest: number[], backend: 'gpu' | 'cpu', log: (l: string) => void,
): Promise<Record<string, unknown>> {
  const K = c.data.labels.length;
  const enc: Encoder = await openEncoder(c.model.init, { backend, maxLength: c.data.maxLength, batchSize: c.batchSize });
  try {
    const H = enc.config.hiddenSize;
    const totalParams = enc.store.specs.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
    const sampleTexts = sample.map((r) => r.text);
    const testTexts = test.map((r) => r.text);
    let steps = 0, tokens = 0;
    const history: Record<string, number>[] = [];
    const separation: Record<string, number> = {};
    let projection: Record<string, unknown> | null = null;
    const sep = (X: Float64Array, tag: string) => {
      separation[`separation_silhouette_${tag}`] = silhouetteCosine(X, yTest);
      separation[`separation_centroid_acc_${tag}`] = centroidAccuracy(X, yTest);
    };
    if (c.setfit) {
      const before = await embed(enc, testTexts);
      sep(before, 'before');
      const pairs = generatePairs(sample.map((r) => r.label), c.setfit.iterations, c.data.seed);
      log(`  setfit stage 1: ${pairs.length} pairs (${c.setfit.iterations} iterations), ${c.setfit.loss} loss, lr ${c.setfit.lr}`);
      const r = await contrastiveTrain(enc, sampleTexts, pairs, { loss: c.setfit.loss, epochs: c.setfit.epochs, lr: c.setfit.lr, weightDecay: 0.01, seed: c.data.seed, maxSteps: c.setfit.maxSteps });
      steps = r.steps;
      tokens = r.tokens;
      for (const l of r.losses) history.push({ step: l.step, loss: l.loss });
      const after = await embed(enc, testTexts);
      sep(after, 'after');
      projection = { labels: c.data.labels, y: yTest, before: pca2(before, test.length), after: pca2(after, test.length) };
    }
    const Xs = await embed(enc, sampleTexts);
    const Xt = await embed(enc, testTexts);
    if (!c.setfit) sep(Xt, 'frozen');
    let head = fitLogReg(Xs, ySample, K, { C: c.head.C });
    const extra: Record<string, number> = {};
    if (c.selfTraining) {
      const pool = unlabelledPool(train, sample, c.data.poolRows);
      const Xp = await embed(enc, pool.map((r) => r.text));
      for (let round = 1; round <= c.selfTraining.rounds; round++) {
        const picked = pickPseudoLabels(predictProba(head, Xp), K, c.selfTraining.threshold, c.selfTraining.topPerClass);
        const pick = picked.map((q) => q.index), yPick = picked.map((q) => q.label);
        const X = new Float64Array((sample.length + pick.length) * H);
        X.set(Xs);
        pick.forEach((i, j) => X.set(Xp.subarray(i * H, (i + 1) * H), (sample.length + j) * H));
        head = fitLogReg(X, [...ySample, ...yPick], K, { C: c.head.C });
        extra[`pseudo_labelled_round${round}`] = pick.length;
        log(`  self-training round ${round}: ${pick.length} of ${pool.length} pool rows pseudo-labelled (${selectionRule(c.selfTraining)})`);
      }
      extra.pool_rows = pool.length;
    }
    const probs = predictProba(head, Xt);
    const yPred = argmaxRows(probs, K);
    const scores = classScores(yTest, yPred, K);
    // Per-example test predictions, as the trainer writes them (evidence sidecars of the record).
    const lines = test.map((r, i) => JSON.stringify({
      id: r.id, gold: r.label, pred: c.data.labels[yPred[i]!], probs: Array.from(probs.subarray(i * K, (i + 1) * K), (x) => Math.round(x * 1e6) / 1e6),
    }));
    writeFileSync(join(c.outputDir, TEST_PREDICTIONS_FILE), lines.join('\n') + '\n');
    if (projection) writeJsonAtomic(join(c.outputDir, 'projection.json'), projection);
    return {
      steps, tokens,
      trainableParams: c.setfit ? totalParams + K * H + K : K * H + K,
      totalParams: totalParams + K * H + K,
      device: enc.backend.device,
      dev: null,
      test: { main_score: scores.accuracy, ...scores, ...separation, ...extra, head_iterations: head.iterations },
      history,
    };
  } finally {
    closeEncoder(enc);
  }
}
