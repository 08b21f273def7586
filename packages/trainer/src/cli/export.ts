// `tunebench export hf --checkpoint DIR --out DIR`: a checkpoint as a Hugging Face BERT directory
// (config.json with its architecture and labels, model.safetensors, tokenizer files) that
// transformers' from_pretrained loads (train/hf_export.ts). The reverse needs no command:
// --init and --checkpoint take a Hugging Face directory as it is (checkpoint/hf_import.ts).

import { Command } from 'commander';
import { exportHf } from '../train/hf_export.js';

export function exportCommand(): Command {
  const exp = new Command('export').description('write a checkpoint in another format');
  exp
    .command('hf')
    .description('a checkpoint as a Hugging Face BERT directory (from_pretrained loads it; --init / --checkpoint read it back)')
    .requiredOption('--checkpoint <dir>', 'checkpoint directory (pretrain / finetune / vocab extend output, or a Hugging Face directory)')
    .requiredOption('--out <dir>', 'directory to write, atomically (temp directory + rename)')
    .option('--force', 'replace --out when it exists and is not empty (everything in it is removed)')
    .option('-q, --quiet', 'print nothing but errors')
    .action((f: { checkpoint: string; out: string; force?: boolean; quiet?: boolean }) => {
      const r = exportHf(f.checkpoint, f.out, { force: f.force });
      if (f.quiet) return;
      for (const n of r.notes) console.log(n);
      console.log(`wrote ${r.outDir}: ${r.architecture}, ${r.tensors.length} tensors, config.json, vocab.txt, tokenizer_config.json, special_tokens_map.json`);
    });
  return exp;
}
