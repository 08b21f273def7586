// One edge phase (`tunebench edge --config <file>`), run by the sweep runner as a child process like
// a trainer phase: it writes config.json and metrics.json into outputDir in the trainer's layout
// (test.main_score, steps, tokens, wallTimeS, totalParams, ...) so runner.ts builds the record as for
// any other phase, and the trained model(s) under models/ (weights + config + vocab, no optimizer
// state: what would be deployed; their size on disk is a column of the suite), each with its
// deployment variants beside it (deploy.ts: <name>.int8/ as `export --int8` writes it, <name>.onnx,
// <name>.int8.onnx).
//
// The model(s) are trained once; then every deployment variant of config.variants (fp32, int8,
// onnx, onnx_int8) is scored and timed on the same trained weights, and metrics.json holds one
// row per variant under `variants` (the runner's record of row `<model>.<variant>` takes
// variants[variant]; the three or four rows of a model share this one phase through the phase
// cache, since their phase configs are equal). Each variant's metrics, per task t:
// `<t>_<metric>` (topic_accuracy, ner_strict_f1, search_recall_at_1) and `ms_per_example_<t>`; for
// the whole row: main_score = the mean of the task scores, params (every parameter the deployment
// needs: three models for `single`, one for the others), size_mb (the variant's weights file(s):
// model.safetensors, model.int8.safetensors, the .onnx; 10⁶ bytes), ms_per_example (mean over
// tasks), train_tokens. `runtimes` says what ran each variant.
//
// Training and the fp32 / int8 variants run on WebGPU whatever --backend says: the suite measures
// WebGPU latency, and the float64 reference model has no distillation. (Lavapipe is a WebGPU
// adapter on the CPU.) The ONNX variants run on ONNX Runtime's CPU provider.
import { renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { openGpu, type Gpu } from '@tunebench/kernels';
import { checkEdgeConfig, samplingShares, type EdgePhaseConfig, type EdgeVariant } from './config.js';
import { openDeployment } from './deploy.js';
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

    // Save each model (fp32: the source of every other variant's file), then score and time every
    // deployment variant of it on the same trained weights: one training, one row per variant.
    const acc = new Map(c.variants.map((v) => [v, { test: {} as Record<string, number>, ms: [] as number[], bytes: 0, runtime: '' }]));
    let params = 0;
    const models: Record<string, unknown>[] = [];
    for (const t of trained) {
      const modelDir = join(dir, 'models', t.name);
      saveNet(t.net, modelDir, [...tok.vocab.tokens], { edge: { mode: c.mode, tasks: t.tasks.map((d) => d.task), labels: Object.fromEntries(t.tasks.map((d) => [d.task.name, d.labels])) }, tokenizer: (ckptConfig.tunebench as { tokenizer?: unknown } | undefined)?.tokenizer ?? null });
      const files: Record<string, { path: string; bytes: number }> = {};
      for (const v of c.variants) {
        const a = acc.get(v)!;
        const dep = await openDeployment(v, t.net, modelDir, { ortThreads: c.ortThreads });
        try {
          const scores = await scoreTasks(t.net, t.tasks, t.tasks.map((_, i) => i), c.training.batchSize, dep.run);
          for (let i = 0; i < t.tasks.length; i++) {
            const d = t.tasks[i]!;
            const m = scores[d.task.name]!;
            a.test[d.scoreKey] = m[d.metric] ?? Number.NaN;
            for (const [k, x] of Object.entries(m)) if (k !== 'main_score' && k !== 'count' && k !== d.metric && !k.startsWith('confusion_')) a.test[`${d.task.name}_${k}`] = x;
            const ms = await latencyPerExample(t.net, d, i, c.training.batchSize, c.latencyBatches, dep.run);
            a.test[`ms_per_example_${d.task.name}`] = ms;
            a.ms.push(ms);
          }
        } finally {
          await dep.close();
        }
        a.bytes += dep.bytes;
        a.runtime = dep.runtime;
        files[v] = { path: relative(dir, dep.path), bytes: dep.bytes };
      }
      params += t.net.store.totalSize;
      models.push({ name: t.name, params: t.net.store.totalSize, files, steps: t.report.steps, tokens: t.report.tokens, stepsByTask: t.report.stepsByTask, tokensByTask: t.report.tokensByTask });
    }
    const tokens = trained.reduce((s, t) => s + t.report.tokens, 0);
    const steps = trained.reduce((s, t) => s + t.report.steps, 0);
    // One row per variant, all with the same keys: task scores, their mean, the deployment's cost.
    const variants: Record<string, Record<string, number>> = {};
    for (const [v, a] of acc) {
      const taskScores = tasks.map((d) => a.test[d.scoreKey]!);
      variants[v] = {
        main_score: taskScores.reduce((x, y) => x + y, 0) / taskScores.length, ...a.test,
        params, size_mb: a.bytes / 1e6, ms_per_example: a.ms.reduce((x, y) => x + y, 0) / a.ms.length, train_tokens: tokens,
      };
    }
    const first = variants[c.variants[0]!]!;
    const info = gpu.adapterInfo;
    const out: Record<string, unknown> = {
      command: 'edge',
      task: 'edge',
      mainMetric: 'mean_task_score',
      mode: c.mode,
      // One row per deployment variant (the runner's record of row `<model>.<variant>` takes
      // variants[variant]); `test` is the first variant's (fp32 unless the config says otherwise).
      variants,
      runtimes: Object.fromEntries([...acc].map(([v, a]) => [v, a.runtime])),
      ortThreads: c.ortThreads,
      test: first,
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
    for (const [v, r] of Object.entries(variants)) {
      log(`${v} (${acc.get(v as EdgeVariant)!.runtime}): ${tasks.map((d) => `${d.scoreKey} ${r[d.scoreKey]!.toFixed(4)}`).join(', ')}; mean ${r.main_score!.toFixed(4)}; ${params} parameters, ${r.size_mb!.toFixed(3)} MB, ${r.ms_per_example!.toFixed(3)} ms/example`);
    }
    log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return out;
  } finally {
    for (const t of trained) closeNet(t.net);
    if (!opts.gpu) gpu.destroy();
  }
}

export type { EdgePhaseConfig };
