// A plain Hugging Face BERT directory (what `save_pretrained` writes: config.json without a
// "tunebench" block, model.safetensors, vocab.txt, tokenizer_config.json) read as a tunebench
// checkpoint. readCheckpoint calls importHf when config.json has no "tunebench" block; what it
// returns looks like one of our own checkpoints, so --init, --checkpoint, vocab stats and the
// few-shot encoder all take it unchanged:
//
//   names     bare BertModel names (embeddings.…, encoder.…, pooler.…) get the `bert.` prefix;
//             old TF-converted LayerNorm.gamma / .beta become .weight / .bias (as transformers does);
//             the buffer bert.embeddings.position_ids is dropped;
//   decoder   cls.predictions.decoder.weight is tied to the word embeddings in our model: dropped
//             when absent or equal to them, an error when it differs; cls.predictions.decoder.bias
//             is cls.predictions.bias (transformers ties the two);
//   heads     from config.json "architectures": BertForMaskedLM / BertForPreTraining → mlm,
//             BertForSequenceClassification → seq_cls (pooling [CLS] through bert.pooler),
//             BertForTokenClassification → token_cls, BertModel → embedding (mean pooling);
//             head tensors of no head we have (cls.seq_relationship, qa_outputs, …) are dropped
//             and reported;
//   labels    id2label in id order;
//   tokenizer tokenizer_config.json's do_lower_case, strip_accents, tokenize_chinese_chars and
//             special tokens (special_tokens_map.json too), with BertTokenizer's defaults (transformers 5
//             builds its normalizer from these keys too, not from tokenizer.json's);
//   vocab     vocab.txt, or else tokenizer.json's WordPiece vocabulary (transformers 5's BertTokenizer
//             saves tokenizer.json only: hfVocabFromTokenizerJson).
//
// Anything we cannot represent exactly is refused with the reason: other model types (RoBERTa,
// DistilBERT, …), activations other than GELU, relative position embeddings, single-label
// regression or multi-label heads, untied decoders, non-F32 weights, pytorch_model.bin only.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from './checkpoint.js';
import type { TensorOut } from './safetensors.js';

export const SUPPORTED_HF_ARCHITECTURES = [
  'BertModel', 'BertForMaskedLM', 'BertForPreTraining', 'BertForSequenceClassification', 'BertForTokenClassification',
] as const;

const SUPPORTED = `supported: model_type "bert" with architectures ${SUPPORTED_HF_ARCHITECTURES.join(', ')} ` +
  '(post-LayerNorm BERT, absolute positions, GELU)';

/** What importing a Hugging Face directory did, one line per fact (logged by the commands that load it). */
export interface HfImportReport {
  architecture: string;
  notes: string[];
}

/** BertConfig defaults of transformers (used, as from_pretrained does, for keys config.json lacks). */
const HF_BERT_DEFAULTS: Record<string, unknown> = {
  vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
  hidden_act: 'gelu', hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: 512,
  type_vocab_size: 2, initializer_range: 0.02, layer_norm_eps: 1e-12,
};

/** The shell line that turns pytorch_model.bin into model.safetensors (torch + safetensors, no transformers needed). */
export function binConversionCommand(dir: string): string {
  const d = dir.replace(/'/g, "'\\''");
  return `python3 -c "import torch; from safetensors.torch import save_file; ` +
    `sd = torch.load('${d}/pytorch_model.bin', map_location='cpu'); ` +
    `save_file({k: v.float().contiguous().clone() for k, v in sd.items()}, '${d}/model.safetensors', metadata={'format': 'pt'})"`;
}

/** readCheckpoint, when model.safetensors is missing: a clear error for the other weight files Hugging Face writes. */
export function missingSafetensorsError(dir: string): CheckpointError {
  const has = (f: string) => existsSync(join(dir, f));
  if (has('pytorch_model.bin')) {
    return new CheckpointError(`${dir} has pytorch_model.bin but no model.safetensors; tunebench reads safetensors only ` +
      `(a .bin file is a Python pickle, which can run code when loaded). Convert it once:\n  ${binConversionCommand(dir)}\n` +
      `or, with transformers installed: AutoModel.from_pretrained('${dir}').save_pretrained('${dir}', safe_serialization=True) ` +
      '(use the model\'s own class, e.g. BertForMaskedLM, to keep its head)');
  }
  if (has('model.safetensors.index.json')) {
    return new CheckpointError(`${dir} holds sharded weights (model.safetensors.index.json); tunebench reads one model.safetensors ` +
      '(a BERT small enough to train here fits in one file: save it with save_pretrained(..., max_shard_size="10GB"))');
  }
  for (const f of ['tf_model.h5', 'flax_model.msgpack']) {
    if (has(f)) return new CheckpointError(`${dir} has ${f} but no model.safetensors; tunebench reads safetensors only (load it in transformers and save_pretrained it with safe_serialization=True)`);
  }
  return new CheckpointError(`${dir} is not a checkpoint: model.safetensors is missing`);
}

function readJsonIf(path: string): Record<string, unknown> | null {
  if (!existsSync(path)) return null;
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

/** Refuse configs and tensor names of other model families, naming what was found and what is supported. */
function checkArchitecture(config: Record<string, unknown>, names: string[], cfgPath: string): string {
  const modelType = config.model_type;
  const archs = config.architectures;
  if (archs !== undefined && (!Array.isArray(archs) || !archs.every((a) => typeof a === 'string'))) {
    throw new CheckpointError(`${cfgPath}: "architectures" must be an array of class names, got ${JSON.stringify(archs)}`);
  }
  const arch = (archs as string[] | undefined)?.[0];
  if (modelType !== undefined && modelType !== 'bert') {
    throw new CheckpointError(`${cfgPath}: model_type "${String(modelType)}"${arch ? ` (${arch})` : ''} is not supported; ${SUPPORTED}`);
  }
  if (arch && !arch.startsWith('Bert')) throw new CheckpointError(`${cfgPath}: architecture ${arch} is not supported; ${SUPPORTED}`);
  for (const family of ['roberta', 'distilbert', 'albert', 'electra', 'deberta', 'xlm_roberta', 'camembert', 'mpnet', 'transformer']) {
    if (names.some((n) => n.startsWith(`${family}.`))) {
      throw new CheckpointError(`${cfgPath}: the weights are named '${family}.…' (a ${family} model), not BERT; ${SUPPORTED}`);
    }
  }
  const pos = config.position_embedding_type;
  if (pos !== undefined && pos !== 'absolute') {
    throw new CheckpointError(`${cfgPath}: position_embedding_type "${String(pos)}" is not supported (tunebench's BERT has absolute position embeddings)`);
  }
  if (config.is_decoder === true || config.add_cross_attention === true) {
    throw new CheckpointError(`${cfgPath}: a BERT decoder (is_decoder / add_cross_attention) is not supported; ${SUPPORTED}`);
  }
  if (arch) return arch;
  // No "architectures": guess from the head tensors, or refuse where the guess would be a coin toss.
  if (names.some((n) => n.startsWith('cls.predictions.'))) return 'BertForMaskedLM';
  if (names.some((n) => n.startsWith('classifier.'))) {
    throw new CheckpointError(`${cfgPath}: no "architectures" and a classifier head: say which it is ` +
      '("architectures": ["BertForSequenceClassification"] or ["BertForTokenClassification"])');
  }
  return 'BertModel';
}

/** Tensor names as our model spells them (see the header). */
function renameTensor(name: string): string {
  let n = name;
  if (/^(embeddings|encoder|pooler)\./.test(n)) n = `bert.${n}`;
  n = n.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
  return n;
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function labelsOf(config: Record<string, unknown>, cfgPath: string): string[] | null {
  const raw = config.id2label;
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new CheckpointError(`${cfgPath}: id2label must be an object {"0": "label", ...}`);
  const entries = Object.entries(raw as Record<string, unknown>);
  const labels = new Array<string>(entries.length);
  for (const [k, v] of entries) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || labels[i] !== undefined) {
      throw new CheckpointError(`${cfgPath}: id2label keys must be 0..${entries.length - 1}, found ${JSON.stringify(k)}`);
    }
    if (typeof v !== 'string' || v === '') throw new CheckpointError(`${cfgPath}: id2label["${k}"] must be a non-empty string`);
    labels[i] = v;
  }
  if (new Set(labels).size !== labels.length) throw new CheckpointError(`${cfgPath}: id2label has duplicate labels (${labels.join(', ')})`);
  const l2i = config.label2id as Record<string, unknown> | undefined;
  if (l2i && typeof l2i === 'object') {
    for (const [lab, id] of Object.entries(l2i)) {
      if (labels[Number(id)] !== lab) throw new CheckpointError(`${cfgPath}: label2id["${lab}"] = ${JSON.stringify(id)} disagrees with id2label`);
    }
  }
  return labels;
}

/** Tokenizer options from tokenizer_config.json / special_tokens_map.json, with BertTokenizer's defaults. */
function tokenizerOf(dir: string, notes: string[]): Record<string, unknown> {
  const tcPath = join(dir, 'tokenizer_config.json');
  const tc = readJsonIf(tcPath);
  const sm = readJsonIf(join(dir, 'special_tokens_map.json')) ?? {};
  if (!tc) notes.push(`${dir} has no tokenizer_config.json: BertTokenizer's defaults (lowercase, strip accents, split Chinese characters)`);
  const t = tc ?? {};
  const cls = t.tokenizer_class;
  // BertTokenizerLegacy: transformers 5's name for the Python BertTokenizer (same WordPiece, same keys).
  if (typeof cls === 'string' && !/^Bert(Japanese)?Tokenizer(Fast|Legacy)?$/.test(cls)) {
    throw new CheckpointError(`${tcPath}: tokenizer_class ${cls} is not supported (tunebench tokenizes with BERT's WordPiece: BertTokenizer / BertTokenizerFast / BertTokenizerLegacy)`);
  }
  if (typeof cls === 'string' && cls.startsWith('BertJapanese')) throw new CheckpointError(`${tcPath}: BertJapaneseTokenizer (MeCab word splitting) is not supported`);
  const bool = (k: string, dflt: boolean | null): boolean | null => {
    const v = t[k];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') throw new CheckpointError(`${tcPath}: ${k} must be true, false or null, got ${JSON.stringify(v)}`);
    return v;
  };
  const lowercase = bool('do_lower_case', true)!;
  // strip_accents null: follow do_lower_case (BertTokenizer's rule, and resolveBasicOptions's).
  const stripAccents = bool('strip_accents', null) ?? lowercase;
  const tokenizeChineseChars = bool('tokenize_chinese_chars', true)!;
  const out: Record<string, unknown> = { lowercase, stripAccents, tokenizeChineseChars };
  // Special tokens: a string, or an AddedToken object {"content": "[CLS]", ...}.
  const specialTokens: Record<string, string> = {};
  for (const [role, key] of [['pad', 'pad_token'], ['unk', 'unk_token'], ['cls', 'cls_token'], ['sep', 'sep_token'], ['mask', 'mask_token']] as const) {
    const v = t[key] ?? sm[key];
    const s = typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : null;
    if (s !== null && s !== `[${role.toUpperCase()}]`) specialTokens[role] = s;
  }
  if (Object.keys(specialTokens).length) out.specialTokens = specialTokens;
  return out;
}

/**
 * The vocabulary of tokenizer.json (what transformers 5's BertTokenizer saves instead of vocab.txt):
 * its WordPiece model's {token: id}, in id order. Null when there is no tokenizer.json; an error when
 * it is not a WordPiece with "##" pieces, its ids are not 0..n−1, or it has added tokens outside the
 * vocabulary (they would need matching before WordPiece, which tunebench's tokenizer does not do).
 */
export function hfVocabFromTokenizerJson(dir: string): string[] | null {
  const path = join(dir, 'tokenizer.json');
  const tj = readJsonIf(path);
  if (!tj) return null;
  const model = tj.model as { type?: unknown; vocab?: unknown; continuing_subword_prefix?: unknown } | undefined;
  if (!model || model.type !== 'WordPiece' || !model.vocab || typeof model.vocab !== 'object' || Array.isArray(model.vocab)) {
    throw new CheckpointError(`${path}: model.type ${JSON.stringify(model?.type)}; tunebench reads a WordPiece tokenizer.json (BERT's) only`);
  }
  if ((model.continuing_subword_prefix ?? '##') !== '##') {
    throw new CheckpointError(`${path}: continuing_subword_prefix ${JSON.stringify(model.continuing_subword_prefix)}; tunebench's WordPiece uses "##"`);
  }
  const entries = Object.entries(model.vocab as Record<string, unknown>);
  const tokens = new Array<string>(entries.length);
  for (const [token, id] of entries) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= entries.length || tokens[id] !== undefined) {
      throw new CheckpointError(`${path}: model.vocab ids must be 0..${entries.length - 1}, each once; "${token}" has ${JSON.stringify(id)}`);
    }
    tokens[id] = token;
  }
  const added = Array.isArray(tj.added_tokens) ? (tj.added_tokens as { id?: unknown; content?: unknown }[]) : [];
  const outside = added.filter((a) => tokens[a.id as number] !== a.content);
  if (outside.length) {
    throw new CheckpointError(`${path}: added tokens outside the WordPiece vocabulary (${outside.map((a) => JSON.stringify(a.content)).join(', ')}) are not supported`);
  }
  return tokens;
}

export interface HfImported {
  config: Record<string, unknown>;
  weights: Map<string, { shape: number[]; data: Float32Array }>;
  report: HfImportReport;
}

/**
 * Turn a Hugging Face BERT directory's config.json and tensors into tunebench's checkpoint view:
 * config with every BertConfig key and a synthesized "tunebench" block (heads, labels, task,
 * tokenizer, hf), weights with our names. Throws a CheckpointError for anything it cannot load exactly.
 */
export function importHf(dir: string, rawConfig: Record<string, unknown>, tensors: Map<string, TensorOut>, wpath: string): HfImported {
  const cfgPath = join(dir, 'config.json');
  const notes: string[] = [];
  const arch = checkArchitecture(rawConfig, [...tensors.keys()], cfgPath);
  if (!(SUPPORTED_HF_ARCHITECTURES as readonly string[]).includes(arch)) {
    notes.push(`architecture ${arch} is not one tunebench has a head for: its BERT encoder is loaded as a BertModel`);
  }
  const config: Record<string, unknown> = { ...rawConfig };
  const defaulted: string[] = [];
  for (const [k, v] of Object.entries(HF_BERT_DEFAULTS)) {
    if (config[k] === undefined) {
      config[k] = v;
      defaulted.push(`${k} ${JSON.stringify(v)}`);
    }
  }
  if (defaulted.length) notes.push(`${cfgPath} lacks ${defaulted.length} key(s); transformers' BertConfig defaults used: ${defaulted.join(', ')}`);
  const act = config.hidden_act;
  if (act !== 'gelu' && act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
    throw new CheckpointError(`${cfgPath}: hidden_act ${JSON.stringify(act)} is not supported; tunebench's kernels compute gelu (erf) and gelu_new / gelu_pytorch_tanh (tanh approximation)`);
  }

  // Weights: F32 only, renamed; buffers dropped.
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  const dropped: string[] = [];
  for (const [raw, t] of tensors) {
    const name = renameTensor(raw);
    if (name === 'bert.embeddings.position_ids' || name === 'bert.embeddings.token_type_ids') {
      dropped.push(raw);
      continue;
    }
    if (t.dtype !== 'F32') {
      throw new CheckpointError(`${wpath}: tensor '${raw}' is ${t.dtype}; tunebench loads F32 weights only ` +
        `(convert: load the model in torch, .float() every tensor, save again with safetensors)`);
    }
    if (weights.has(name)) throw new CheckpointError(`${wpath}: tensors '${raw}' and another both name '${name}' once prefixed with 'bert.'`);
    weights.set(name, { shape: t.shape, data: t.data as Float32Array });
  }
  if (dropped.length) notes.push(`dropped buffer(s) ${dropped.join(', ')} (not parameters)`);

  // The MLM decoder: tied to the word embeddings in our model (and in BERT's).
  const emb = weights.get('bert.embeddings.word_embeddings.weight');
  const dec = weights.get('cls.predictions.decoder.weight');
  if (dec) {
    if (!emb || !sameValues(dec.data, emb.data)) {
      throw new CheckpointError(`${wpath}: cls.predictions.decoder.weight differs from bert.embeddings.word_embeddings.weight (an untied decoder); ` +
        'tunebench ties the MLM decoder to the word embeddings, so this model cannot be loaded exactly');
    }
    weights.delete('cls.predictions.decoder.weight');
  }
  const decBias = weights.get('cls.predictions.decoder.bias');
  if (decBias) {
    const bias = weights.get('cls.predictions.bias');
    if (bias && !sameValues(bias.data, decBias.data)) {
      throw new CheckpointError(`${wpath}: cls.predictions.decoder.bias differs from cls.predictions.bias (transformers ties the two)`);
    }
    if (!bias) weights.set('cls.predictions.bias', decBias);
    weights.delete('cls.predictions.decoder.bias');
  }

  // Heads, labels, task.
  let heads: Record<string, unknown>[];
  let task: Record<string, unknown>;
  let labels = labelsOf(config, cfgPath);
  const classifier = weights.get('classifier.weight');
  if (arch === 'BertForSequenceClassification' || arch === 'BertForTokenClassification') {
    const pt = config.problem_type;
    if (pt !== undefined && pt !== null && pt !== 'single_label_classification') {
      throw new CheckpointError(`${cfgPath}: problem_type "${String(pt)}" is not supported (tunebench trains single-label classifiers: softmax + cross-entropy)`);
    }
    const n = classifier?.shape[0] ?? labels?.length ?? (typeof config.num_labels === 'number' ? config.num_labels : 2);
    if (labels && labels.length !== n) throw new CheckpointError(`${cfgPath}: id2label has ${labels.length} labels but classifier.weight has ${n} rows`);
    if (n < 2) throw new CheckpointError(`${cfgPath}: ${n} label(s): a one-output BertForSequenceClassification is a regressor, which tunebench does not train`);
    labels ??= Array.from({ length: n }, (_, i) => `LABEL_${i}`);
    if (arch === 'BertForSequenceClassification') {
      heads = [{ kind: 'seq_cls', numLabels: n, pooling: 'cls' }];
      task = { kind: 'seq_cls', pooling: 'cls', labels, labelAllTokens: false, mlmProbability: 0.15 };
    } else {
      heads = [{ kind: 'token_cls', numLabels: n }];
      task = { kind: 'token_cls', labels, labelAllTokens: false, mlmProbability: 0.15 };
    }
  } else if (arch === 'BertForMaskedLM' || arch === 'BertForPreTraining') {
    heads = [{ kind: 'mlm' }];
    task = { kind: 'mlm', labels: [], mlmProbability: 0.15, labelAllTokens: false };
    labels = [];
  } else {
    heads = [{ kind: 'embedding', normalize: true }];
    task = { kind: 'embedding', normalize: true, labels: [], mlmProbability: 0.15, labelAllTokens: false, embeddingLoss: 'mnr' };
    labels = [];
  }
  // Head tensors of heads we do not have: dropped and said (the encoder is what --init wants).
  const ours = (n: string) => n.startsWith('bert.') || n.startsWith('cls.predictions.') || n.startsWith('classifier.');
  const extra = [...weights.keys()].filter((n) => !ours(n));
  for (const n of extra) weights.delete(n);
  if (extra.length) notes.push(`ignored ${extra.length} tensor(s) of heads tunebench does not have: ${extra.join(', ')}`);
  const tokenizer = tokenizerOf(dir, notes);
  config.tunebench = { hf: { architecture: arch }, heads, labels, task, tokenizer };
  notes.unshift(`read ${dir} as a Hugging Face ${arch} (${heads[0]!.kind} head${labels.length ? `, labels ${labels.join(', ')}` : ''}; ` +
    `tokenizer: lowercase ${String(tokenizer.lowercase)}, strip accents ${String(tokenizer.stripAccents)}, Chinese characters split ${String(tokenizer.tokenizeChineseChars)})`);
  return { config, weights, report: { architecture: arch, notes } };
}
