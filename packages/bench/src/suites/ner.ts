// NER: which sub-tokens carry the label, and does a CRF layer pay? (the seed's Q138) — fine-tune
// the shipped base model on ner_en (word-level BIO tags PER / LOC / ORG) with the label on the
// first word piece only (Hugging Face's default, other pieces −100) or on every piece (HF's
// label_all_tokens: a B-X word's later pieces get I-X), with a per-token softmax head or a
// linear-chain CRF on the same logits (NLL loss, BIO-constrained transitions, Viterbi decoding;
// the CRF runs over the labelled pieces). Every strategy is scored on the same words by one rule:
// a word takes its first piece's prediction. main_score = strict IOB2 entity micro-F1.
import type { Suite, Variant } from './types.js';

const LR = 3e-4;
/** The full tag set, fixed so a capped training split cannot lose a tag that dev / test use. */
export const NER_LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG'];

const v = (name: string, labelAllTokens: boolean, crf: boolean): Variant => ({
  name,
  params: { labels: labelAllTokens ? 'all_subtokens' : 'first_subtoken', head: crf ? 'crf_bio' : 'softmax', lr: LR },
  finetune: {
    'task.kind': 'token_cls', 'task.labels': NER_LABELS, 'task.labelAllTokens': labelAllTokens,
    'task.crf': crf, 'task.crfConstraints': 'bio', 'strategy.name': 'full', 'optimizer.lr': LR,
  },
});

export const ner: Suite = {
  name: 'ner',
  title: 'NER: sub-token labels and a CRF layer',
  question: 'Token classification on ner_en — SILVER labels (gazetteer matches on WordNet glosses, not human annotation: ' +
    'compare the strategies with each other, not with published NER scores): label the first sub-token or every ' +
    'sub-token, with a per-token softmax or a BIO-constrained linear-chain CRF (Viterbi decoding)? All are scored on ' +
    "the same words (each word takes its first piece's prediction); main_score = strict IOB2 entity micro-F1 " +
    "(seqeval mode='strict'); the report adds seqeval's default (lenient) F1, per-type F1 and an entity-type confusion table.",
  baseline: 'first_subtoken',
  datasets: ['ner_en'],
  variants: [v('first_subtoken', false, false), v('all_subtokens', true, false), v('crf_first', false, true), v('crf_all', true, true)],
  presets: {
    micro: { variants: ['first_subtoken', 'crf_first'] },
  },
};
