// `tunebench export hf --checkpoint DIR --out DIR`: a checkpoint as a Hugging Face BERT directory
// (config.json with its architecture and labels, model.safetensors, tokenizer files) that
// transformers' from_pretrained loads (train/hf_export.ts). The reverse needs no command:
// --init and --checkpoint take a Hugging Face directory as it is (checkpoint/hf_import.ts).
// `tunebench export --int8 --checkpoint DIR --out DIR`: the int8 weights with their scales
// (train/int8_export.ts); `tunebench export onnx --checkpoint DIR --out model.onnx [--quantized]`
// (export/onnx.ts). --checkpoint and --out belong to `export` itself (commander parses a parent's
// options wherever they stand, so a subcommand's own --checkpoint would never be filled): the
// subcommands read them with optsWithGlobals().

import { Command } from 'commander';

/** --checkpoint and --out of `export`, for a subcommand (clear error when missing). */
function paths(cmd: Command): { checkpoint: string; out: string } {
  const o = cmd.optsWithGlobals() as { checkpoint?: string; out?: string };
  // the wording of commander's own check (as when the subcommand declared them required)
  for (const [k, flag] of [['checkpoint', '--checkpoint <dir>'], ['out', '--out <dir>']] as const) {
    if (!o[k]) throw new Error(`error: required option '${flag}' not specified (tunebench export ${cmd.name()})`);
  }
  return { checkpoint: o.checkpoint!, out: o.out! };
}
import { exportHf } from '../train/hf_export.js';

export function exportCommand(): Command {
  const exp = new Command('export')
    .description('write a checkpoint in another format: --int8 (quantised weights + scales, safetensors), or the hf / onnx subcommands')
    .option('--int8', 'write the int8 weights and their scales (model.int8.safetensors + config.json + vocab.txt) into --out')
    .option('--checkpoint <dir>', 'checkpoint directory written by pretrain / finetune (or a Hugging Face directory, or an int8 export)')
    .option('-o, --out <dir>', 'output directory (--int8, hf: written atomically), or the .onnx file (onnx)')
    .action(async (f: { int8?: boolean; checkpoint?: string; out?: string }) => {
      if (!f.int8) throw new Error('tunebench export: say what to export: --int8, or a subcommand (hf, onnx)');
      if (!f.checkpoint || !f.out) throw new Error('tunebench export --int8 needs --checkpoint DIR and --out DIR');
      const { exportInt8 } = await import('../train/int8_export.js');
      const r = await exportInt8(f.checkpoint, f.out);
      console.log(`wrote ${r.dir}: ${r.linears} int8 linear layers; ${(r.bytes / 1e6).toFixed(2)} MB (fp32 checkpoint ${(r.fp32Bytes / 1e6).toFixed(2)} MB); ` +
        `the quantised layers ${(r.linearBytes.int8 / 1e6).toFixed(2)} MB vs ${(r.linearBytes.fp32 / 1e6).toFixed(2)} MB in fp32`);
    });
  exp
    .command('onnx')
    .description('the checkpoint as an ONNX model (opset 17; every head an output; dynamic batch and sequence axes)')
    .option('--quantized', 'encoder linear layers as int8 MatMulInteger (per-channel weights, per-row activations)')
    .action(async (f: { quantized?: boolean }, cmd: Command) => {
      const { checkpoint, out } = paths(cmd);
      const { exportOnnx } = await import('../export/onnx.js');
      const r = await exportOnnx(checkpoint, out, { quantized: f.quantized ?? false });
      console.log(`wrote ${r.path} (${(r.bytes / 1e6).toFixed(2)} MB${r.quantized ? ', int8 MatMulInteger' : ''}); outputs: last_hidden_state, ${r.outputs.join(', ')}`);
    });
  exp
    .command('hf')
    .description('a checkpoint as a Hugging Face BERT directory (from_pretrained loads it; --init / --checkpoint read it back)')
    .option('--force', 'replace --out when it exists and is not empty (everything in it is removed)')
    .option('-q, --quiet', 'print nothing but errors')
    .action((f: { force?: boolean; quiet?: boolean }, cmd: Command) => {
      const { checkpoint, out } = paths(cmd);
      const r = exportHf(checkpoint, out, { force: f.force });
      if (f.quiet) return;
      for (const n of r.notes) console.log(n);
      console.log(`wrote ${r.outDir}: ${r.architecture}, ${r.tensors.length} tensors, config.json, vocab.txt, tokenizer_config.json, special_tokens_map.json`);
    });
  return exp;
}
