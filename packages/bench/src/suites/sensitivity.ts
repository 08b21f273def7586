// Sensitivity (Q137): how much does the score move with the learning rate (and batch size, and
// length of training) of fine-tuning, compared with the learning rate of continued pretraining?
// Shown as curves of main_score against lr, one per stage.
import type { Suite, Variant } from './types.js';

const FT_LRS = [3e-5, 1e-4, 3e-4, 1e-3];
const PT_LRS = [3e-5, 1e-4, 3e-4, 1e-3];

const ft = (lr: number): Variant => ({ name: `ft_lr_${lr.toExponential(0)}`, params: { stage: 'finetune', lr }, finetune: { 'strategy.name': 'full', 'optimizer.lr': lr } });
const pt = (lr: number): Variant => ({
  name: `pt_lr_${lr.toExponential(0)}`,
  params: { stage: 'pretrain', lr },
  pretrain: { from: 'base', dataset: 'email', set: { 'optimizer.lr': lr } },
  finetune: { 'strategy.name': 'full', 'optimizer.lr': 3e-4 },
});
const bs = (batch: number): Variant => ({ name: `ft_bs_${batch}`, params: { stage: 'finetune-batch', batch_size: batch, lr: 3e-4 }, finetune: { 'strategy.name': 'full', 'optimizer.lr': 3e-4, 'training.batchSize': batch } });
const ep = (epochs: number): Variant => ({ name: `ft_epochs_${epochs}`, params: { stage: 'finetune-epochs', epochs, lr: 3e-4 }, finetune: { 'strategy.name': 'full', 'optimizer.lr': 3e-4, 'training.epochs': epochs, 'training.maxSteps': 0 } });

export const sensitivity: Suite = {
  name: 'sensitivity',
  title: 'Sensitivity: learning rate of fine-tuning vs of continued pretraining',
  question: 'How sensitive is the final score to the learning rate (batch size, epochs) of each stage?',
  baseline: 'ft_lr_3e-4',
  datasets: ['email'],
  curveParam: 'lr',
  variants: [...FT_LRS.map(ft), ...PT_LRS.map(pt), bs(8), bs(32), ep(1), ep(5)],
  presets: {
    micro: { variants: ['ft_lr_1e-4', 'ft_lr_3e-4', 'pt_lr_1e-4'] },
    quick: { variants: ['ft_lr_3e-5', 'ft_lr_3e-4', 'ft_lr_1e-3', 'pt_lr_3e-5', 'pt_lr_3e-4'] },
  },
};
