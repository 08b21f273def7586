// One edge phase (`tunebench edge --config <file>`), run by the sweep runner as a child process like
// a trainer phase: it writes config.json and metrics.json into outputDir in the trainer's layout
// (test.main_score, steps, tokens, wallTimeS, totalParams, ...) so runner.ts builds the record as for
// any other phase, and the trained model(s) under models/ (weights + config + vocab, no optimizer
// state: what would be deployed; their size on disk is a column of the suite).
//
// Test metrics of every mode, per task t: `<t>_<metric>` (topic_accuracy, ner_strict_f1,
// search_recall_at_1) and `ms_per_example_<t>`; for the whole row: main_score = the mean of the
// task scores, params (every parameter the deployment needs: three models for `single`, one for
// the others), size_mb (model.safetensors, 10⁶ bytes), ms_per_example (mean over tasks), variant.
//
// The phase runs on WebGPU whatever --backend says: the suite measures WebGPU latency, and the
// float64 reference model has no distillation. (Lavapipe is a WebGPU adapter on the CPU.)
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openGpu, type Gpu } from '@tunebench/kernels';
import { checkEdgeConfig, samplingShares, type EdgePhaseConfig } from './config.js';
import { loadTask, type TaskData } from './tasks.js';
import { deriveSeed } from '@tunebench/trainer';
import { closeNet, HiddenProjection, latencyPerExample, openNet, saveNet, scoreTasks, tokenizerOf, trainNet, type EdgeNet, type Teacher, type TrainReport } from './net.js';
import { startPhaseDir } from '../phase_dir.js';

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

/** Steps of each single-task model: its share of the budget (at least 1), so the three see what one multi-task run sees. */
export function singleTaskSteps(steps: number, shares: readonly number[]): number[] {
  return shares.map((p) => Math.max(1, Math.round(steps * p)));
}

interface Trained {
  name: string;
  net: EdgeNet;
  tasks: TaskData[];
  report: TrainReport;
}

export async function runEdgePhase(raw: unknown, opts: { source?: string; log?: (l: string) => void; gpu?: Gpu } = {}): Promise<Record<string, unknown>> {
  const c = checkEdgeConfig(raw, opts.source);
  const log = opts.log ?? ((l: string) => console.log(l));
  const t0 = Date.now();
  const dir = c.outputDir;
  startPhaseDir(dir, 'edge', c);

  const { tok, ckptConfig } = tokenizerOf(c.model.init);
  if (c.distill) {
    const tv = tokenizerOf(c.distill.teacher.model.init).tok;
    if (tv.vocab.tokens.length !== tok.vocab.tokens.length || tv.vocab.tokens.some((t, i) => t !== tok.vocab.tokens[i])) {
      throw new Error(`${opts.source ?? 'edge config'}: /distill/teacher/model/init ${c.distill.teacher.model.init} has another vocabulary than /model/init ${c.model.init}; distillation on token logits needs the same word pieces`);
    }
  }
  const tasks = c.multi.tasks.map((t) => loadTask(t, tok, c.data, opts.source ?? 'edge config'));
  const shares = samplingShares(tasks.map((d) => d.train.length), c.multi.sampling, c.multi.samplingTemperature);
  log(`edge ${c.mode}: tasks ${tasks.map((d, i) => `${d.task.name} (${d.task.kind}, ${d.train.length} train / ${d.test.length} test, share ${shares[i]!.toFixed(3)}, weight ${d.task.weight})`).join('; ')}`);

  const gpu = opts.gpu ?? (await openGpu());
  const trained: Trained[] = [];
  const extra: Record<string, unknown> = {};
  try {
    const seed = c.data.seed;
    if (c.mode === 'single') {
      const steps = singleTaskSteps(c.training.steps, shares);
      for (let k = 0; k < tasks.length; k++) {
        const d = tasks[k]!;
        const net = openNet(gpu, c.model, [d.head], seed, `/model`);
        log(`single-task model ${d.task.name}: ${steps[k]} steps (share ${shares[k]!.toFixed(3)} of ${c.training.steps}) from ${net.init}`);
        const report = await trainNet(net, [d], [1], steps[k]!, c.training, seed, { log });
        trained.push({ name: d.task.name, net, tasks: [d], report });
      }
    } else {
      let teacher: Teacher | null = null;
      if (c.distill) {
        const tc = c.distill.teacher;
        const tnet = openNet(gpu, tc.model, tasks.map((d) => d.head), seed, '/distill/teacher/model');
        log(`teacher L${tnet.config.numLayers} H${tnet.config.hiddenSize} (${tnet.store.totalSize} parameters) from ${tnet.init}: multi-task, ${tc.training.steps} steps`);
        const treport = await trainNet(tnet, tasks, shares, tc.training.steps, tc.training, seed, { log: (l) => log(`teacher ${l}`) });
        const tscores = await scoreTasks(tnet, tasks, tasks.map((_, i) => i), c.training.batchSize);
        extra.teacher = {
          shape: { numLayers: tnet.config.numLayers, hiddenSize: tnet.config.hiddenSize }, params: tnet.store.totalSize, init: tnet.init,
          steps: treport.steps, tokens: treport.tokens, wallTimeS: treport.wallTimeS,
          scores: Object.fromEntries(tasks.map((d) => [d.scoreKey, tscores[d.task.name]![d.metric] ?? null])),
        };
        log(`teacher scores: ${tasks.map((d) => `${d.scoreKey} ${(tscores[d.task.name]![d.metric] ?? NaN).toFixed(4)}`).join(', ')}`);
        teacher = { net: tnet, temperature: c.distill.temperature, kdWeight: c.distill.kdWeight, ceWeight: c.distill.ceWeight, hidden: null };
      }
      const net = openNet(gpu, c.model, tasks.map((d) => d.head), seed, '/model');
      if (teacher && c.distill?.hiddenMse) {
        teacher.hidden = new HiddenProjection(gpu, net.config.hiddenSize, teacher.net.config.hiddenSize, c.distill.hiddenMse.weight, deriveSeed(seed, 0x41d));
        log(`hidden-state distillation: W (${teacher.net.config.hiddenSize} × ${net.config.hiddenSize}) learned, weight ${c.distill.hiddenMse.weight}`);
      }
      log(`${c.mode === 'distill' ? 'student' : 'multi-task model'} L${net.config.numLayers} H${net.config.hiddenSize} (${net.store.totalSize} parameters) from ${net.init}: ${c.training.steps} steps`);
      try {
        const report = await trainNet(net, tasks, shares, c.training.steps, c.training, seed, { log, teacher });
        trained.push({ name: c.mode === 'distill' ? 'student' : 'multitask', net, tasks, report });
      } finally {
        if (teacher) closeNet(teacher.net);
        teacher?.hidden?.destroy();
      }
    }

    // Score, time and save each model.
    const test: Record<string, number> = {};
    const perTaskMs: number[] = [];
    let params = 0, bytes = 0;
    const models: Record<string, unknown>[] = [];
    for (const t of trained) {
      const scores = await scoreTasks(t.net, t.tasks, t.tasks.map((_, i) => i), c.training.batchSize);
      for (let i = 0; i < t.tasks.length; i++) {
        const d = t.tasks[i]!;
        const m = scores[d.task.name]!;
        test[d.scoreKey] = m[d.metric] ?? Number.NaN;
        for (const [k, v] of Object.entries(m)) if (k !== 'main_score' && k !== 'count' && k !== d.metric && !k.startsWith('confusion_')) test[`${d.task.name}_${k}`] = v;
        const ms = await latencyPerExample(t.net, d, i, c.training.batchSize, c.latencyBatches);
        test[`ms_per_example_${d.task.name}`] = ms;
        perTaskMs.push(ms);
      }
      const size = saveNet(t.net, join(dir, 'models', t.name), [...tok.vocab.tokens], { edge: { mode: c.mode, tasks: t.tasks.map((d) => d.task), labels: Object.fromEntries(t.tasks.map((d) => [d.task.name, d.labels])) }, tokenizer: (ckptConfig.tunebench as { tokenizer?: unknown } | undefined)?.tokenizer ?? null });
      params += t.net.store.totalSize;
      bytes += size;
      models.push({ name: t.name, params: t.net.store.totalSize, bytes: size, steps: t.report.steps, tokens: t.report.tokens, stepsByTask: t.report.stepsByTask, tokensByTask: t.report.tokensByTask });
    }
    const taskScores = tasks.map((d) => test[d.scoreKey]!);
    const main = taskScores.reduce((a, b) => a + b, 0) / taskScores.length;
    const tokens = trained.reduce((s, t) => s + t.report.tokens, 0);
    const steps = trained.reduce((s, t) => s + t.report.steps, 0);
    const fp32 = {
      main_score: main, ...test, params, size_mb: bytes / 1e6, ms_per_example: perTaskMs.reduce((a, b) => a + b, 0) / perTaskMs.length, train_tokens: tokens,
    };
    const info = gpu.adapterInfo;
    const out: Record<string, unknown> = {
      command: 'edge',
      task: 'edge',
      mainMetric: 'mean_task_score',
      mode: c.mode,
      // One row per deployment variant; the record takes `test` (= variants.fp32). INT8 / ONNX rows join here.
      variants: { fp32 },
      test: fp32,
      dev: null,
      steps,
      tokens,
      trainableParams: params,
      totalParams: params,
      models,
      shares: Object.fromEntries(tasks.map((d, i) => [d.task.name, shares[i]])),
      ...extra,
      history: trained.flatMap((t) => t.report.history.map((h) => ({ ...h, model: t.name }))),
      device: `webgpu: ${[info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ')}`,
      wallTimeS: (Date.now() - t0) / 1000,
    };
    writeJsonAtomic(join(dir, 'metrics.json'), out);
    log(`done: ${tasks.map((d) => `${d.scoreKey} ${test[d.scoreKey]!.toFixed(4)}`).join(', ')}; mean ${main.toFixed(4)}; ${params} parameters, ${(bytes / 1e6).toFixed(2)} MB, ${fp32.ms_per_example.toFixed(3)} ms/example; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return out;
  } finally {
    for (const t of trained) closeNet(t.net);
    if (!opts.gpu) gpu.destroy();
  }
}

export type { EdgePhaseConfig };
