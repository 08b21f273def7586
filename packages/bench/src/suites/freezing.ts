// Which weights should train? (the seed's Q130) — from the shipped base model, fine-tune on a
// general-English topic task (wn_topic) and on e-mail (email), training only some of the weights.
// Head-only and LoRA use a higher learning rate, as is usual for them (recorded in params.lr).
import type { Suite, Variant } from './types.js';

const FT_LR = 3e-4;
const ADAPTER_LR = 1e-3;
const v = (name: string, params: Variant['params'], finetune: Record<string, unknown>): Variant => ({ name, params, finetune });

export const freezing: Suite = {
  name: 'freezing',
  title: 'Freezing: which weights to train',
  question: 'Fine-tuning only some of the weights: how much quality does each choice keep, for how many trainable parameters?',
  baseline: 'full',
  datasets: ['wn_topic', 'email'],
  variants: [
    v('head_only', { strategy: 'head_only', lr: ADAPTER_LR }, { 'strategy.name': 'head_only', 'optimizer.lr': ADAPTER_LR }),
    v('top_1', { strategy: 'top_k', k: 1, lr: FT_LR }, { 'strategy.name': 'top_k', 'strategy.k': 1, 'optimizer.lr': FT_LR }),
    v('top_2', { strategy: 'top_k', k: 2, lr: FT_LR }, { 'strategy.name': 'top_k', 'strategy.k': 2, 'optimizer.lr': FT_LR }),
    v('full', { strategy: 'full', lr: FT_LR }, { 'strategy.name': 'full', 'optimizer.lr': FT_LR }),
    v('bottom_2', { strategy: 'bottom_k', k: 2, lr: FT_LR }, { 'strategy.name': 'bottom_k', 'strategy.k': 2, 'optimizer.lr': FT_LR }),
    v('ffn_only', { strategy: 'ffn_only', lr: FT_LR }, { 'strategy.name': 'ffn_only', 'optimizer.lr': FT_LR }),
    v('attention_only', { strategy: 'attention_only', lr: FT_LR }, { 'strategy.name': 'attention_only', 'optimizer.lr': FT_LR }),
    v('lora_r4', { strategy: 'lora', r: 4, alpha: 8, lr: ADAPTER_LR }, { 'strategy.name': 'lora', lora: { r: 4, alpha: 8, dropout: 0, targets: ['query', 'value'] }, 'optimizer.lr': ADAPTER_LR }),
    v('lora_r8', { strategy: 'lora', r: 8, alpha: 8, lr: ADAPTER_LR }, { 'strategy.name': 'lora', lora: { r: 8, alpha: 8, dropout: 0, targets: ['query', 'value'] }, 'optimizer.lr': ADAPTER_LR }),
  ],
  presets: {
    quick: { datasets: ['wn_topic'] },
    micro: { variants: ['head_only', 'full', 'lora_r4'], datasets: ['wn_topic'] },
  },
};
