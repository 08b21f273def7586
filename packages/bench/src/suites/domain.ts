// Domain adaptation (Q134, Q135): is continued masked-LM pretraining on e-mail text worth its
// compute before fine-tuning on e-mail classification, and what does it cost on general English?
//   (a) base → fine-tune
//   (b) base → continued MLM on the email train split → fine-tune; variants: lower LR, a 50:50
//       mixture with the general corpus, EWC towards the base weights, LoRA-only pretraining
//   (c) from scratch on email text (own vocabulary) → fine-tune
// Every variant is also probed on wn_topic after its pretraining phase (forgetting), and its
// records carry the tokens and wall time of every phase (compute beside quality).
import type { Suite } from './types.js';

const PT_LR = 1e-4;
const FT = { 'strategy.name': 'full', 'optimizer.lr': 3e-4 };

export const domain: Suite = {
  name: 'domain',
  title: 'Domain adaptation: continued pretraining on e-mail',
  question: 'Does continued masked-LM pretraining on domain text pay for its compute, and how much general English does it forget?',
  baseline: 'a_base_finetune',
  datasets: ['email'],
  variants: [
    { name: 'a_base_finetune', params: { pretrain: 'none' }, finetune: FT, probe: true },
    { name: 'b_continued', params: { pretrain: 'continued', pt_lr: PT_LR }, pretrain: { from: 'base', dataset: 'email', set: { 'optimizer.lr': PT_LR } }, finetune: FT, probe: true },
    { name: 'b_lower_lr', params: { pretrain: 'continued', pt_lr: PT_LR / 5 }, pretrain: { from: 'base', dataset: 'email', set: { 'optimizer.lr': PT_LR / 5 } }, finetune: FT, probe: true },
    {
      name: 'b_mixed_50', params: { pretrain: 'continued', pt_lr: PT_LR, general_ratio: 0.5 },
      pretrain: { from: 'base', dataset: 'email', set: { 'optimizer.lr': PT_LR, 'data.general': 'pretrain_en', 'data.generalRatio': 0.5 } }, finetune: FT, probe: true,
    },
    {
      name: 'b_ewc', params: { pretrain: 'continued', pt_lr: PT_LR, ewc_lambda: 1000 },
      pretrain: { from: 'base', dataset: 'email', set: { 'optimizer.lr': PT_LR, ewc: { lambda: 1000, fisherBatches: 10, data: 'pretrain_en' } } }, finetune: FT, probe: true,
    },
    {
      name: 'b_lora', params: { pretrain: 'continued-lora', pt_lr: 1e-3, r: 8 },
      pretrain: { from: 'base', dataset: 'email', set: { 'optimizer.lr': 1e-3, 'strategy.name': 'lora', lora: { r: 8, alpha: 8, dropout: 0, targets: ['query', 'value'] } } }, finetune: FT, probe: true,
    },
    { name: 'c_scratch', params: { pretrain: 'scratch', pt_lr: 5e-4 }, pretrain: { from: 'scratch', dataset: 'email', set: { 'optimizer.lr': 5e-4 } }, finetune: FT, probe: true },
  ],
  presets: {
    quick: { variants: ['a_base_finetune', 'b_continued', 'b_mixed_50', 'c_scratch'] },
    micro: { variants: ['a_base_finetune', 'b_continued', 'c_scratch'] },
  },
};
