// `tunebench export hf`: a checkpoint (ours, or a Hugging Face directory read by hf_import.ts) as
// the directory transformers' from_pretrained loads, written atomically (temp dir + rename):
//
//   config.json              BertConfig keys, model_type "bert", "architectures" from the head
//                            (mlm → BertForMaskedLM, seq_cls → BertForSequenceClassification,
//                            token_cls → BertForTokenClassification, embedding → BertModel),
//                            id2label / label2id for classifiers; no "tunebench" block
//   model.safetensors        F32, the names that class's state_dict has, less the tied ones
//                            (cls.predictions.decoder.weight / .bias: transformers ties them to the
//                            word embeddings and cls.predictions.bias, and leaves them out itself)
//   vocab.txt, tokenizer_config.json, special_tokens_map.json   BertTokenizer(Fast)'s files
//
// A LoRA checkpoint is exported with its adapter merged (W += (α/r)·B·A). What has no exact
// transformers equivalent is refused (mean-pooled seq_cls, several classifier heads) or dropped
// with a note (a CRF layer's transitions: transformers decodes per token).

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeDirAtomic, writeFileAtomic } from '../checkpoint/atomic.js';
import { CheckpointError, readCheckpoint } from '../checkpoint/checkpoint.js';
import { bertConfigFromHf, checkpointTokenizerOptions, hfArchitecture, hfConfig } from '../checkpoint/config_json.js';
import { encodeSafetensors, type TensorIn } from '../checkpoint/safetensors.js';
import { mergeInitAdapter } from './init_lora.js';
import { resolveBasicOptions } from '../tokenizer/basic.js';
import type { HeadSpec } from '../model/heads.js';

export interface HfExportResult {
  outDir: string;
  architecture: string;
  /** The tensors written, by name. */
  tensors: string[];
  notes: string[];
}

const SPECIAL_KEYS = [['unk', 'unk_token'], ['sep', 'sep_token'], ['pad', 'pad_token'], ['cls', 'cls_token'], ['mask', 'mask_token']] as const;

/**
 * Write checkpoint `checkpointDir` as a Hugging Face BERT directory `outDir` (see the header). An
 * existing non-empty `outDir` is replaced only with `force` (the replacement removes it whole).
 */
export function exportHf(checkpointDir: string, outDir: string, opts: { force?: boolean } = {}): HfExportResult {
  if (resolve(checkpointDir) === resolve(outDir)) throw new CheckpointError(`export hf: --out ${outDir} is the checkpoint itself; choose another directory`);
  if (existsSync(outDir) && (!statSync(outDir).isDirectory() || readdirSync(outDir).length > 0) && !opts.force) {
    throw new CheckpointError(`export hf: ${outDir} exists and is not empty; pass --force to replace it (everything in it is removed)`);
  }
  const ck = readCheckpoint(checkpointDir);
  const cfgPath = join(checkpointDir, 'config.json');
  const notes: string[] = [...(ck.hf?.notes ?? [])];
  const tb = (ck.config.tunebench ?? {}) as { heads?: HeadSpec[]; labels?: string[] };
  const heads = tb.heads;
  if (!heads || heads.length === 0) throw new CheckpointError(`${cfgPath}: tunebench.heads is missing; cannot tell which Hugging Face class this is`);
  if (heads.length > 1) throw new CheckpointError(`${cfgPath}: ${heads.length} heads (${heads.map((h) => h.kind).join(', ')}); a Hugging Face BERT class has one`);
  const head = heads[0]!;
  if (!ck.vocab) throw new CheckpointError(`${checkpointDir} has no vocab.txt; a Hugging Face directory needs one for its tokenizer`);
  const bert = bertConfigFromHf(ck.config, cfgPath);
  const { weights, merged } = mergeInitAdapter(ck);
  if (merged) notes.push(`merged the LoRA adapter (r ${merged.r}, alpha ${merged.alpha}, targets ${merged.targets.join(', ')}) into the base weights`);

  const architecture = hfArchitecture(head.kind);
  const keep = new Map<string, TensorIn>();
  const dropped: string[] = [];
  const labels = tb.labels ?? [];
  for (const [name, t] of weights) {
    let out: string | null = name;
    if (name.startsWith('bert.pooler.')) {
      // BertForMaskedLM / BertForTokenClassification are built without the pooler (add_pooling_layer=False).
      if (head.kind === 'mlm' || head.kind === 'token_cls') out = null;
    } else if (name.startsWith('cls.')) {
      if (head.kind !== 'mlm') out = null;
    } else if (name === 'classifier.weight' || name === 'classifier.bias') {
      if (head.kind !== 'seq_cls' && head.kind !== 'token_cls') out = null;
    } else if (name === 'crf.transitions') {
      notes.push(`dropped ${name}: BertForTokenClassification has no CRF layer, so transformers decodes each token by argmax (tunebench's Viterbi decoding is not exported)`);
      continue;
    } else if (!name.startsWith('bert.')) {
      out = null;
    }
    if (out === null) {
      dropped.push(name);
      continue;
    }
    // BertModel's own names carry no `bert.` prefix.
    if (head.kind === 'embedding') out = out.replace(/^bert\./, '');
    keep.set(out, { shape: t.shape, data: t.data });
  }
  if (dropped.length) notes.push(`left out ${dropped.length} tensor(s) that ${architecture} does not have: ${dropped.join(', ')}`);
  if (head.kind === 'seq_cls' && head.pooling !== 'cls') {
    throw new CheckpointError(`${cfgPath}: a seq_cls head with '${head.pooling}' pooling has no Hugging Face class ` +
      "(BertForSequenceClassification pools [CLS] through bert.pooler); fine-tune with task.pooling 'cls' to export it");
  }
  const need = (n: string) => {
    if (!keep.has(n)) throw new CheckpointError(`${checkpointDir}: ${architecture} needs ${n}, which the checkpoint lacks`);
  };
  if (head.kind === 'mlm') ['cls.predictions.transform.dense.weight', 'cls.predictions.bias'].forEach(need);
  if (head.kind === 'seq_cls') ['bert.pooler.dense.weight', 'classifier.weight'].forEach(need);
  if (head.kind === 'token_cls') need('classifier.weight');
  if (head.kind === 'embedding' && !keep.has('pooler.dense.weight')) {
    notes.push('no pooler in this checkpoint: transformers initialises BertModel.pooler at random (tunebench embeddings are the mean of last_hidden_state over the attention mask)');
  }

  // config.json
  const config = hfConfig(bert, {}, architecture);
  delete config.tunebench;
  const tok = { lowercase: true, ...checkpointTokenizerOptions(ck.config, cfgPath) };
  const basic = resolveBasicOptions(tok);
  const specials: Record<string, string> = {};
  for (const [role, key] of SPECIAL_KEYS) specials[key] = tok.specialTokens?.[role] ?? `[${role.toUpperCase()}]`;
  const padId = ck.vocab.indexOf(specials.pad_token!);
  Object.assign(config, { pad_token_id: padId >= 0 ? padId : 0, tie_word_embeddings: true, torch_dtype: 'float32', use_cache: true, classifier_dropout: null });
  if (head.kind === 'seq_cls' || head.kind === 'token_cls') {
    if (labels.length !== head.numLabels) throw new CheckpointError(`${cfgPath}: tunebench.labels has ${labels.length} labels but the head has ${head.numLabels}`);
    config.id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
    config.label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
    if (head.kind === 'seq_cls') config.problem_type = 'single_label_classification';
  }
  const maxLen = bert.maxPositions;
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: basic.lowercase,
    strip_accents: basic.stripAccents,
    tokenize_chinese_chars: basic.tokenizeChineseChars,
    do_basic_tokenize: true,
    never_split: null,
    model_max_length: maxLen,
    clean_up_tokenization_spaces: true,
    ...specials,
  };
  const weightBytes = encodeSafetensors(keep, { format: 'pt' });
  writeDirAtomic(outDir, (tmp) => {
    writeFileAtomic(join(tmp, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    writeFileAtomic(join(tmp, 'model.safetensors'), weightBytes);
    writeFileAtomic(join(tmp, 'vocab.txt'), ck.vocab!.join('\n') + '\n');
    writeFileAtomic(join(tmp, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2) + '\n');
    writeFileAtomic(join(tmp, 'special_tokens_map.json'), JSON.stringify(specials, null, 2) + '\n');
  });
  return { outDir, architecture, tensors: [...keep.keys()].sort(), notes };
}
