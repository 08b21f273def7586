// Benchmarks of the CRF kernels at the NER suite's shapes: B 32 sequences of T 64 positions,
// K 7 BIO tags (ner_en) with the constraint mask. One invocation per sequence walks it serially,
// so these are latency-bound (T·K² steps per sequence), not FLOP- or byte-bound: the counts are
// the recursion's multiply-adds (≈ 2·B·T·K² forward, ≈ 3× that backward) and the minimal bytes.

import { bioAllowed, crf_backward, crf_forward, crf_viterbi } from '../../crf.js';
import { randomF32 } from '../../testing.js';
import type { BenchCase, BenchInstance } from '../types.js';

const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG'];

function crfCase(kind: 'forward' | 'backward' | 'viterbi', B: number, T: number): BenchCase {
  const K = LABELS.length;
  const recursion = 2 * B * T * K * K;
  return {
    family: 'crf',
    name: `crf_${kind} B${B} T${T} K${K} bio`,
    shape: { B, T, K },
    flops: kind === 'backward' ? 3 * recursion : recursion,
    bytes: 4 * (B * T * K + B * T + B + (kind === 'backward' ? B * T * K + B * (K + 2) * K : kind === 'viterbi' ? B * T : 2 * B)),
    setup(ctx): BenchInstance {
      const { gpu } = ctx;
      const lengthValues = Int32Array.from({ length: B }, (_, b) => T - (b % 8) * 4);
      const tags = new Int32Array(B * T); // all O: an allowed path
      const bufs = {
        emissions: gpu.buffer(randomF32(ctx.rand, B * T * K, -3, 3), 'emissions'),
        lengths: gpu.buffer(lengthValues, 'lengths'),
        crf: gpu.buffer(randomF32(ctx.rand, (K + 2) * K), 'crf'),
        allowed: gpu.buffer(bioAllowed(LABELS), 'allowed'),
        tags: gpu.buffer(tags, 'tags'),
        out1: gpu.zeros(B * T * K * 4, 'out1'),
        out2: gpu.zeros(B * T * 4, 'out2'),
        dcrf: gpu.zeros((K + 2) * K * 4, 'dcrf'),
      };
      const ops = { emissions: bufs.emissions, lengths: bufs.lengths, lengthValues, crf: bufs.crf, allowed: bufs.allowed, B, T, K };
      return {
        run: (enc) => {
          if (kind === 'forward') crf_forward(gpu, enc, { ...ops, tags: bufs.tags, losses: bufs.out1, logZ: bufs.out2 });
          else if (kind === 'backward') crf_backward(gpu, enc, { ...ops, tags: bufs.tags, demissions: bufs.out1, dcrf: bufs.dcrf, normalizer: 1 });
          else crf_viterbi(gpu, enc, { ...ops, path: bufs.out2, score: bufs.out1 });
        },
        dispose: () => Object.values(bufs).forEach((b) => b.destroy()),
      };
    },
  };
}

export const cases: BenchCase[] = [crfCase('forward', 32, 64), crfCase('backward', 32, 64), crfCase('viterbi', 32, 64)];
