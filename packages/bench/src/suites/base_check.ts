// Does the base model help at all? — the control every other suite silently assumes (issue 14's
// downstream acceptance): full fine-tuning from the shipped base model vs from a random
// initialisation with the same architecture and vocabulary (`model.reinit`: the base's shape and
// vocab.txt, fresh weights from seeds.init), same recipe, on a general task (wn_topic), the
// domain task (email, text the base never saw) and NER (ner_en, token classification, strict
// IOB2 F1). If the pretrained row does not win here, no strategy comparison on top of this base
// says much about pretrained models. zh_poetry checks the Chinese-capable base the fewshot suite
// scores it from (models/tiny-zh-base: the suites' datasetBases), against random weights of its
// own shape and extended vocabulary.
import type { Suite, Variant } from './types.js';

const LR = 3e-4; // the full fine-tuning rate of the freezing and NER suites
const v = (name: string, reinit: boolean): Variant => ({
  name,
  params: { init: reinit ? 'random' : 'base', strategy: 'full', lr: LR },
  finetune: { 'strategy.name': 'full', 'optimizer.lr': LR, ...(reinit ? { 'model.reinit': true } : {}) },
});

export const baseCheck: Suite = {
  name: 'base_check',
  title: 'Base model vs random initialisation',
  question: 'Does pretraining pay? Full fine-tuning from the shipped base model vs from random weights with the same ' +
    'architecture and vocabulary (same recipe and seeds), on wn_topic, email and ner_en; and the Chinese-capable base on zh_poetry.',
  baseline: 'random_init',
  datasets: ['wn_topic', 'email', 'ner_en', 'zh_poetry'],
  datasetBases: { zh_poetry: { base: 'models/tiny-zh-base', madeBy: 'bash scripts/make-zh-base.sh' } },
  variants: [v('pretrained', false), v('random_init', true)],
  presets: {
    micro: { datasets: ['wn_topic', 'ner_en'] },
  },
};
