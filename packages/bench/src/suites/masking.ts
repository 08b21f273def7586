// Masked-LM design (Q136): mask rate 10 / 15 / 25 % and random vs whole-word vs span masking,
// judged by downstream fine-tuning after continued pretraining on e-mail text and by the
// masked-token accuracy of the pretraining phase on email dev (metric mlm_accuracy, measured with
// plain random masks at each variant's own rate).
import type { Suite, Variant } from './types.js';

const PT_LR = 1e-4;
const FT = { 'strategy.name': 'full', 'optimizer.lr': 3e-4 };
const v = (rate: number, masking: 'random' | 'whole-word' | 'span'): Variant => ({
  name: `rate${Math.round(rate * 100)}_${masking.replace('-', '_')}`,
  params: { mask_rate: rate, masking },
  pretrain: {
    from: 'base',
    dataset: 'email',
    // The trainer's `masking` section (defaults: random, 80/10/10); evalStrategy 'random' scores
    // every variant's dev masked-token accuracy under the same plain random masks.
    set: {
      'optimizer.lr': PT_LR,
      'task.mlmProbability': rate,
      'masking.strategy': masking.replace('-', '_'),
      'masking.evalStrategy': 'random',
    },
  },
  finetune: FT,
});

export const masking: Suite = {
  name: 'masking',
  title: 'Masked-LM design: rate and masking unit',
  question: 'Which mask rate and masking unit make continued pretraining most useful downstream?',
  baseline: 'rate15_random',
  datasets: ['email'],
  variants: [v(0.1, 'random'), v(0.15, 'random'), v(0.25, 'random'), v(0.15, 'whole-word'), v(0.15, 'span')],
  presets: {
    quick: { variants: ['rate10_random', 'rate15_random', 'rate25_random', 'rate15_whole_word', 'rate15_span'] },
    micro: { variants: ['rate15_random', 'rate25_random'] },
  },
};
