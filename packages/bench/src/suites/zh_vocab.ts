// Vocabulary extension for Chinese (Q140; issue #17): an English base model meets Chinese. Its
// vocabulary maps nearly every Chinese character to [UNK] (`tunebench vocab stats`), so either
// the vocabulary grows (a Chinese WordPiece merged in, old ids unchanged, new embedding rows
// initialised by a rule; `tunebench vocab extend`, here tokenizer.extendCorpus inside the
// pretraining phase) and the model continues masked-LM pretraining on a mixed Chinese + English
// corpus, or it only adapts with LoRA, or a Chinese model is trained from scratch. Scored on
// zh_poetry after the standard fine-tune; English retention by the wn_topic probe (the same
// fine-tune recipe from the pretrained checkpoint) against en_base.
//
//   en_base              the English base as it is; its held-out MLM scores come from an mlm_eval
//                        phase (`tunebench mlm_eval`): the pretraining config's rows, masks and
//                        batches, the base measured, nothing trained
//   lora_only            continued MLM with LoRA (r 8 on query/value), no vocabulary change
//   extend_frozen_lower  extension, then two stages: the top layer, the embeddings (the new rows
//                        always train) and the MLM head first, every parameter after half the steps
//   extend_full          extension (mean init), everything trains from the start
//   extend_init_*        as extend_full with the other rules: mean_noise, subtoken, random
//                        (extend_full is the mean one). With the "old tokenization unchanged"
//                        guarantee each new token is a character the base lacks, which the old
//                        tokenizer makes [UNK]: subtoken falls back to mean + seeded N(0, 0.02²)
//                        noise for those (not the one [UNK] row for all), the piece average for
//                        any token with real pieces.
// The extension WordPiece is fitted on zh_pretrain less its held-out rows (the 2 % the held-out
// Chinese MLM loss is measured on).
//   zh_scratch           from scratch on zh_pretrain (its own vocabulary), the same steps
//
// Every pretraining phase has the preset's pretraining size (same steps × batch × length: the
// same token budget); the English share of the mixture is a parameter (default 20 %).
//
// Held-out MLM (records): mlm_loss on zh_pretrain's held-out rows, mlm_loss_general on
// pretrain_en's, both after pretraining (en_base: as it is). Different vocabularies cut the same
// rows into different tokens, so a loss is "nats per masked piece" of that model's own pieces.
// en_base and lora_only keep the English vocabulary, where most Chinese characters are [UNK],
// and [UNK] is never masked: their Chinese mlm_loss is over the few pieces they know (digits,
// Latin letters, punctuation), not over Chinese, and does not compare with the extended
// vocabularies'. mlm_unk_share says how much of the held-out text it leaves out (en_base about
// as much as its unk_rate; the extended ones almost none). English
// retention compares mlm_loss_general with en_base's: on English the continued variants cut
// the text exactly as en_base does (an extension keeps every old tokenization), and the same
// seeds mask it (only a 10 % random replacement draws from the model's own, larger
// vocabulary); zh_scratch has its own vocabulary.
import type { Overrides, Suite, Variant } from './types.js';

export interface ZhVocabOptions {
  /** Share of English (pretrain_en) sequences in continued pretraining; default 0.2. */
  enRatio?: number;
  /** Size of the Chinese WordPiece merged into the base vocabulary; default 4000. */
  size?: number;
}

const PT_LR = 1e-4;
const FT = { 'strategy.name': 'full', 'optimizer.lr': 3e-4 };
const INITS = { mean: 'mean', mean_noise: 'mean-noise', subtoken: 'subtoken', random: 'normal' } as const;

export function zhVocabSuite(o: ZhVocabOptions = {}): Suite {
  const enRatio = o.enRatio ?? 0.2;
  const size = o.size ?? 4000;
  if (!(enRatio >= 0 && enRatio < 1)) throw new Error(`zh_vocab: enRatio ${enRatio} must be in [0, 1)`);
  const mix: Overrides = enRatio > 0 ? { 'data.general': 'pretrain_en', 'data.generalRatio': enRatio } : {};
  const pretrain = (set: Overrides): Variant['pretrain'] => ({ from: 'base', dataset: 'zh_pretrain', set: { 'optimizer.lr': PT_LR, ...mix, ...set } });
  const extend = (init: keyof typeof INITS): Overrides => ({ 'tokenizer.extendCorpus': 'zh_pretrain', 'tokenizer.extendSize': size, 'tokenizer.growInit': INITS[init] });
  const common = { en_ratio: enRatio };
  const extendVariant = (name: string, init: keyof typeof INITS, stages: 'full' | 'frozen_lower'): Variant => ({
    name,
    params: { ...common, vocab: 'extended', size, init, stages },
    pretrain: pretrain({
      ...extend(init),
      ...(stages === 'full'
        ? { 'strategy.name': 'full' }
        : { 'strategy.name': 'top_k', 'strategy.k': 1, 'strategy.embeddings': 'trained', 'strategy.unfreezeAllAt': 0.5 }),
    }),
    finetune: FT,
    probe: true,
  });
  return {
    name: 'zh_vocab',
    title: 'Vocabulary extension for Chinese',
    question: 'An English base model on Chinese: extend the vocabulary (which initialisation, which layers first), adapt with LoRA only, or train from scratch — and how much English does each keep?',
    baseline: 'en_base',
    datasets: ['zh_poetry'],
    languageMetrics: true,
    variants: [
      // No pretraining; its held-out MLM scores measured by an mlm_eval phase with the pretraining config's data.
      { name: 'en_base', params: { vocab: 'base', pretrain: 'none' }, mlmEval: { dataset: 'zh_pretrain', set: mix }, finetune: FT, probe: true },
      {
        name: 'lora_only', params: { ...common, vocab: 'base', pretrain: 'continued-lora', r: 8 },
        pretrain: pretrain({ 'optimizer.lr': 1e-3, 'strategy.name': 'lora', lora: { r: 8, alpha: 8, dropout: 0, targets: ['query', 'value'] } }), finetune: FT, probe: true,
      },
      extendVariant('extend_frozen_lower', 'mean', 'frozen_lower'),
      extendVariant('extend_full', 'mean', 'full'),
      extendVariant('extend_init_mean_noise', 'mean_noise', 'full'),
      extendVariant('extend_init_subtoken', 'subtoken', 'full'),
      extendVariant('extend_init_random', 'random', 'full'),
      {
        name: 'zh_scratch', params: { vocab: 'zh', pretrain: 'scratch' },
        pretrain: { from: 'scratch', dataset: 'zh_pretrain', set: { 'optimizer.lr': 5e-4 } }, finetune: FT, probe: true,
      },
    ],
    presets: {
      quick: { variants: ['en_base', 'lora_only', 'extend_frozen_lower', 'extend_full', 'zh_scratch'] },
      // 100 pretraining rows (the preset's 48 leave none held out; the 2 % rule needs 50): the
      // held-out losses exist in micro too (2 rows each), at no extra step.
      micro: { variants: ['en_base', 'extend_frozen_lower'], sizes: { pretrain: { maxTrainRows: 100 } } },
    },
  };
}

export const zhVocab = zhVocabSuite();
