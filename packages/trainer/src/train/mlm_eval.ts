// `tunebench mlm_eval --config <pretrain config>`: the held-out masked-LM scores that a pretraining
// run reports at its end (metrics.json `dev`, and `devGeneral` with data.general), measured for
// model.init as it is, without a training step. A baseline that is never pretrained (zh_vocab's
// en_base) thus gets numbers on the same footing as the pretrained strategies.
//
// Why not a pretrain with lr 0: every 'pretrain' trains at least one step (counted as compute),
// and its config (lr) would differ from the one it stands for.
// Why not `evaluate`: it has its own rows (a split, not the 2 % hold-out), its own mask seed and
// batch size. Here the config IS a pretraining config: setUpRun (run_setup.ts) picks the held-out
// rows (mlmHoldout on the capped corpus, the general corpus's own 2 %), tokenizes them and builds
// the eval collator exactly as for pretraining, and evaluateRun (loop.ts) scores them with the same
// batch size and mask seeds as the loop's final evaluation. The same config and weights therefore
// give the same numbers, bit for bit (test/mlm_eval.test.ts).
//
// The run directory holds config.json (command 'mlm_eval'), log.txt and metrics.json; no checkpoint.

import type { TrainRunConfig } from '../config/schema.js';
import { RunDir } from '../config/rundir.js';
import { ConfigError } from '../config/load.js';
import { setUpRun } from './run_setup.js';
import { deferredProgress, evaluateRun, type BackendFactory } from './loop.js';

export interface MlmEvalResult {
  runDir: string;
  metrics: Record<string, unknown>;
}

export async function runMlmEval(c: TrainRunConfig, opts: { backend: BackendFactory; progress?: boolean }): Promise<MlmEvalResult> {
  const started = Date.now();
  if (c.task.kind !== 'mlm') throw new ConfigError(`mlm_eval: task.kind is '${c.task.kind}'; mlm_eval measures masked-LM scores (task.kind 'mlm')`);
  if (!c.model.init) throw new ConfigError('mlm_eval: model.init is not set; it names the checkpoint to measure');
  if (c.model.reinit) throw new ConfigError('mlm_eval: model.reinit would measure random weights; unset it');
  const runOpts = { resume: false, command: 'mlm_eval' };
  RunDir.check(c.outputDir, c, runOpts);
  const log = deferredProgress(opts.progress ?? true);
  // 'pretrain': the same rows, tokenizer (tokenizer.extendCorpus included) and collators as the pretraining phase.
  const s = setUpRun('pretrain', c, log.progress);
  const { devEx, generalDevEx } = s.data;
  // No held-out rows (fewer than 50 training rows, no data.dev): null, as the pretraining reports it.
  if (!devEx.length) log.progress.line(`mlm_eval: ${c.data.dataset ?? c.data.train} has no held-out rows (data.dev unset and fewer than 50 training rows): dev is null, as a pretraining with this config reports it`);
  const run = new RunDir(c.outputDir, c, runOpts);
  log.attach(run);
  const { config, heads, store, lora } = s.model;
  const backend = await opts.backend({ config, heads, store, lora, loss: s.loss, maxBatch: s.schedule.B, maxLength: c.data.maxLength });
  try {
    backend.load();
    const t0 = Date.now();
    const dev = devEx.length ? (await evaluateRun(s, backend, devEx, { unkShare: true })).metrics : null;
    const devGeneral = generalDevEx.length ? (await evaluateRun(s, backend, generalDevEx, { unkShare: true })).metrics : null;
    const wallTimeS = (Date.now() - t0) / 1000;
    const metrics = {
      command: 'mlm_eval',
      task: 'mlm',
      dataset: c.data.dataset ?? c.data.train,
      general: c.data.general,
      seeds: c.seeds,
      // A measurement: no step, no training token (the runner's compute totals stay the method's own).
      steps: 0,
      tokens: 0,
      trainableParams: 0,
      totalParams: store.totalSize,
      heldoutExamples: { dev: devEx.length, devGeneral: generalDevEx.length },
      dev,
      devGeneral,
      main_score: dev?.main_score ?? null,
      wallTimeS,
      setupS: (t0 - started) / 1000,
      device: backend.device,
      vocabSize: s.model.tok.vocabSize,
      tokenizer: s.data.fertility,
    };
    run.writeMetrics(metrics);
    const fmt = (m: Record<string, number> | null) => (m ? `loss ${m.loss?.toFixed(4) ?? '-'} over ${m.count ?? 0} masked tokens, [UNK] (never masked) ${m.unk_share?.toFixed(4)} of the text` : '-');
    log.progress.line(`mlm_eval of ${c.model.init}: held-out ${metrics.dataset} ${fmt(dev)}; general ${c.data.general ?? '-'} ${fmt(devGeneral)}`);
    return { runDir: run.dir, metrics };
  } finally {
    backend.destroy();
  }
}
