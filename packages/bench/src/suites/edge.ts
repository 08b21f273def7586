// Edge (the seed's Q139): one small model on an embedded device serving three tasks — topic
// classification (wn_topic), NER (ner_en) and search (sentence embeddings: WordNet headwords ↔
// gloss retrieval, in-batch negatives). What does sharing one encoder cost or gain against three
// single-task models of the same size and budget, what does distilling a larger teacher add, and
// what do INT8 and ONNX deployment of each model cost in score and save in size and time?
//
//   single            three single-task models from the base, each trained on its own task for
//                     its share of the budget (the share the multi-task sampler gives the task):
//                     together the same steps and tokens as one multi-task run, three times the
//                     parameters and disk
//   multitask         hard parameter sharing: one encoder, three heads, one task sampled per step
//                     (temperature sampling, T = 2), loss weight 1 each
//   distilled         the multi-task recipe with a teacher (the `mini` shape, L4 H256, trained
//                     multi-task first): 0.5 · CE + 0.5 · τ²·KL at τ = 2 on the two classifier heads
//   *_small           the same with a smaller student (L2 H64, random weights, the base's
//                     vocabulary): multitask_small is the distilled_small student without a teacher
//   distilled_small_hidden  distilled_small plus the hidden-state MSE of the last layer through a
//                     learned projection (H_teacher × H_student), weight 1, on every task's batches
//
// Each row is a model × a deployment variant (edge/config.ts EDGE_VARIANTS, edge/deploy.ts):
//   .fp32        the trained model on WebGPU (model.safetensors)
//   .int8        its encoder linears through the INT8 kernels on WebGPU (per-output-channel int8
//                weights, per-row int8 activations; `tunebench export --int8`'s files)
//   .onnx        the trainer's ONNX export on ONNX Runtime CPU (onnxruntime-node, 1 thread)
//   .onnx_int8   the quantised ONNX export (MatMulInteger, the same int8 weights) on ONNX Runtime CPU
// The rows of one model share one phase (the same config: every variant is scored on the weights
// it trained once; the phase cache runs it once). Columns: each task's score (topic_accuracy,
// ner_strict_f1, search_recall_at_1), main_score = their mean, params, size_mb (the variant's
// files), ms_per_example (its runtime, batch of the preset's size). The report plots score
// against size.
import { EDGE_VARIANTS } from '../edge/config.js';
import type { EdgeSpec, Suite, Variant } from './types.js';

const MODELS: { name: string; mode: EdgeSpec['mode']; student: EdgeSpec['student']; hiddenMse?: boolean }[] = [
  { name: 'single', mode: 'single', student: 'base' },
  { name: 'multitask', mode: 'multi', student: 'base' },
  { name: 'distilled', mode: 'distill', student: 'base' },
  { name: 'multitask_small', mode: 'multi', student: 'small' },
  { name: 'distilled_small', mode: 'distill', student: 'small' },
  { name: 'distilled_small_hidden', mode: 'distill', student: 'small', hiddenMse: true },
];

const variant = (m: (typeof MODELS)[number], deploy: string): Variant => ({
  name: `${m.name}.${deploy}`,
  params: { model: m.name, mode: m.mode, student: m.student, hidden_mse: m.hiddenMse ?? false, deploy },
  edge: { mode: m.mode, student: m.student, deploy, ...(m.hiddenMse ? { hiddenMse: true } : {}) },
});

export const EDGE_MODEL_NAMES = MODELS.map((m) => m.name);

export const edge: Suite = {
  name: 'edge',
  title: 'Edge: one shared encoder for classification, NER and search; distillation; INT8 and ONNX deployment',
  question: 'One small model serving topic classification (wn_topic), NER (ner_en) and search (headwords ↔ gloss retrieval): ' +
    'three single-task models or one shared encoder with three heads (same steps and tokens in all), and what does distilling a ' +
    'larger teacher (mini, L4 H256) add to the same student? main_score = the mean of the three task scores ' +
    '(accuracy, strict entity F1, Recall@1); each model is deployed fp32 and INT8 on WebGPU and as ONNX (fp32, INT8) on ONNX Runtime CPU, ' +
    'and rows also give parameters, size on disk and ms per example on that runtime.',
  baseline: 'single.fp32',
  // The run's dataset names the classification task; the phase also reads ner_en and the wn_topic glosses.
  datasets: ['wn_topic'],
  variants: MODELS.flatMap((m) => EDGE_VARIANTS.map((d) => variant(m, d))),
  presets: {
    // three trainings; the multitask model's int8 and onnx rows come from its one phase
    micro: { variants: ['single.fp32', 'multitask.fp32', 'multitask.int8', 'multitask.onnx', 'distilled_small.fp32'], seeds: [0] },
  },
};
