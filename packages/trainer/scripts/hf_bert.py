#!/usr/bin/python3
"""Hugging Face BERT directories from outside tunebench, for its import / export tests.

Independent of tunebench's code and of the transformers package (not in Debian 12): Debian's
python3-torch and numpy only. The layout written and checked is what transformers' save_pretrained
writes and from_pretrained reads:
  config.json (BertConfig keys, model_type "bert", architectures, id2label / label2id),
  model.safetensors (safetensors byte layout written by hand: u64 little-endian header length,
  JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {"format": "pt"}} padded with
  spaces to 8 bytes, then the tensors little-endian, back to back),
  vocab.txt, tokenizer_config.json, special_tokens_map.json.
The forward pass is an explicit float64 post-LayerNorm BERT (erf GELU, absolute positions), the
same maths as transformers' BertModel / BertForMaskedLM / BertForSequenceClassification /
BertForTokenClassification in eval mode, on the float32 values the file holds.

  make OUT     write the fixtures OUT/{mlm,seq_cls,base}: a tiny random BertForMaskedLM (bert.-prefixed
               names, the tied decoder written out as older transformers did, the position_ids
               buffer), a BertForSequenceClassification (cased tokenizer), and a bare-named BertModel
               (no tokenizer_config.json); each with expected.json: texts, this script's WordPiece
               ids for them, a padded batch and the float64 outputs
  check DIR INPUTS.json
               read an exported directory strictly as transformers would (the state_dict names of
               its architecture, tied weights allowed missing, nothing unexpected; config and
               tokenizer files), run the float64 forward on INPUTS' batch and print JSON
               {architecture, tensors, missing, outputs, tokenizer, ids}; exit 1 on any problem

Run: /usr/bin/python3 packages/trainer/scripts/hf_bert.py make packages/trainer/test/fixtures/hf
"""
import json
import math
import os
import struct
import sys
import unicodedata

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

# ------------------------------------------------------------------------------------------------
# safetensors, by its documented byte layout

DTYPES = {'F32': ('<f4', 4), 'F64': ('<f8', 8), 'I64': ('<i8', 8), 'I32': ('<i4', 4), 'F16': ('<f2', 2)}


def save_safetensors(path, tensors, metadata=None):
    names = sorted(tensors)
    header = {}
    if metadata:
        header['__metadata__'] = metadata
    blobs = []
    off = 0
    for n in names:
        arr, dtype = tensors[n]
        b = np.ascontiguousarray(arr, dtype=DTYPES[dtype][0]).tobytes()
        header[n] = {'dtype': dtype, 'shape': list(arr.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * ((8 - (8 + len(h)) % 8) % 8)
    with open(path + '.tmp', 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + '.tmp', path)


def load_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n].decode('utf-8'))
    meta = header.pop('__metadata__', {})
    base = 8 + n
    out = {}
    end = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0]):
        b, e = info['data_offsets']
        if b != end:
            raise SystemExit(f'{path}: tensor {name} starts at {b}, expected {end}')
        end = e
        np_dtype, size = DTYPES[info['dtype']]
        count = math.prod(info['shape'])
        if e - b != count * size:
            raise SystemExit(f'{path}: tensor {name}: {e - b} bytes for {info["dtype"]}{info["shape"]}')
        out[name] = (np.frombuffer(data[base + b:base + e], dtype=np_dtype).reshape(info['shape']), info['dtype'])
    if base + end != len(data):
        raise SystemExit(f'{path}: tensors cover {end} bytes, the data section has {len(data) - base}')
    return out, meta

# ------------------------------------------------------------------------------------------------
# BertTokenizer (slow, Python), as in transformers: basic tokenizer + greedy longest-match WordPiece


def strip_accents(text):
    return ''.join(c for c in unicodedata.normalize('NFD', text) if unicodedata.category(c) != 'Mn')


def is_punct(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith('P')


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text, lower, accents, chinese):
    if chinese:
        text = ''.join(f' {c} ' if is_cjk(ord(c)) else c for c in text)
    words = []
    for w in text.split():
        if lower:
            w = w.lower()
        if accents:
            w = strip_accents(w)
        cur = ''
        for c in w:
            if is_punct(c):
                if cur:
                    words.append(cur)
                words.append(c)
                cur = ''
            else:
                cur += c
        if cur:
            words.append(cur)
    return words


def wordpiece(word, vocab, unk='[UNK]'):
    out, start = [], 0
    while start < len(word):
        end, piece = len(word), None
        while start < end:
            s = word[start:end] if start == 0 else '##' + word[start:end]
            if s in vocab:
                piece = s
                break
            end -= 1
        if piece is None:
            return [unk]
        out.append(piece)
        start = end
    return out


class Tokenizer:
    def __init__(self, vocab, cfg):
        self.vocab = {t: i for i, t in enumerate(vocab)}
        self.lower = cfg.get('do_lower_case', True)
        sa = cfg.get('strip_accents')
        self.accents = self.lower if sa is None else sa
        self.chinese = cfg.get('tokenize_chinese_chars', True)

    def ids(self, text, pair=None):
        def piece_ids(t):
            return [self.vocab[p] for w in basic_tokenize(t, self.lower, self.accents, self.chinese) for p in wordpiece(w, self.vocab)]
        a = piece_ids(text)
        ids = [self.vocab['[CLS]']] + a + [self.vocab['[SEP]']]
        types = [0] * len(ids)
        if pair is not None:
            b = piece_ids(pair) + [self.vocab['[SEP]']]
            ids += b
            types += [1] * len(b)
        return ids, types

# ------------------------------------------------------------------------------------------------
# The float64 forward


def bert_forward(P, cfg, ids, mask, types, prefix):
    """Encoder of a post-LN BERT; P maps names (with `prefix`) to float64 tensors."""
    B, T = ids.shape
    H, NH = cfg['hidden_size'], cfg['num_attention_heads']
    D = H // NH
    eps = cfg['layer_norm_eps']

    def w(n):
        return P[prefix + n]

    def lin(x, n):
        return x @ w(n + '.weight').T + w(n + '.bias')

    def ln(x, n):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + eps) * w(n + '.weight') + w(n + '.bias')

    def gelu(x):
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    x = w('embeddings.word_embeddings.weight')[ids] + w('embeddings.position_embeddings.weight')[torch.arange(T)][None] \
        + w('embeddings.token_type_embeddings.weight')[types]
    x = ln(x, 'embeddings.LayerNorm')
    neg = (1.0 - mask[:, None, None, :].double()) * torch.finfo(torch.float64).min
    for l in range(cfg['num_hidden_layers']):
        p = f'encoder.layer.{l}.'

        def split(t):
            return t.reshape(B, T, NH, D).permute(0, 2, 1, 3)
        q, k, v = (split(lin(x, p + 'attention.self.' + n)) for n in ('query', 'key', 'value'))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + neg, -1)
        ctx = (a @ v).permute(0, 2, 1, 3).reshape(B, T, H)
        x = ln(lin(ctx, p + 'attention.output.dense') + x, p + 'attention.output.LayerNorm')
        f = gelu(lin(x, p + 'intermediate.dense'))
        x = ln(lin(f, p + 'output.dense') + x, p + 'output.LayerNorm')
    return x, lin, ln, gelu


def forward(P, cfg, arch, batch):
    B, T = batch['B'], batch['T']
    ids = torch.tensor(batch['inputIds']).reshape(B, T)
    mask = torch.tensor(batch['attentionMask']).reshape(B, T)
    types = torch.tensor(batch['tokenTypeIds']).reshape(B, T)
    prefix = '' if arch == 'BertModel' else 'bert.'
    h, _, _, gelu = bert_forward(P, cfg, ids, mask, types, prefix)
    if arch == 'BertForMaskedLM':
        d = h @ P['cls.predictions.transform.dense.weight'].T + P['cls.predictions.transform.dense.bias']
        d = gelu(d)
        mu = d.mean(-1, keepdim=True)
        var = ((d - mu) ** 2).mean(-1, keepdim=True)
        d = (d - mu) / torch.sqrt(var + cfg['layer_norm_eps']) * P['cls.predictions.transform.LayerNorm.weight'] + P['cls.predictions.transform.LayerNorm.bias']
        decoder = P.get('cls.predictions.decoder.weight', P['bert.embeddings.word_embeddings.weight'])
        return {'logits': d @ decoder.T + P['cls.predictions.bias']}
    if arch == 'BertForSequenceClassification':
        pooled = torch.tanh(h[:, 0] @ P['bert.pooler.dense.weight'].T + P['bert.pooler.dense.bias'])
        return {'logits': pooled @ P['classifier.weight'].T + P['classifier.bias']}
    if arch == 'BertForTokenClassification':
        return {'logits': h @ P['classifier.weight'].T + P['classifier.bias']}
    out = {'last_hidden_state': h}
    m = mask[:, :, None].double()
    out['mean_pooled'] = (h * m).sum(1) / m.sum(1)
    if 'pooler.dense.weight' in P:
        out['pooler_output'] = torch.tanh(h[:, 0] @ P['pooler.dense.weight'].T + P['pooler.dense.bias'])
    return out

# ------------------------------------------------------------------------------------------------
# What transformers' state_dict holds for each class (transformers 4.x, eval), and what it ties


def expected_names(cfg, arch):
    enc = ['embeddings.word_embeddings.weight', 'embeddings.position_embeddings.weight', 'embeddings.token_type_embeddings.weight',
           'embeddings.LayerNorm.weight', 'embeddings.LayerNorm.bias']
    for l in range(cfg['num_hidden_layers']):
        p = f'encoder.layer.{l}.'
        for n in ('attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense',
                  'attention.output.LayerNorm', 'intermediate.dense', 'output.dense', 'output.LayerNorm'):
            enc += [p + n + '.weight', p + n + '.bias']
    pooler = ['pooler.dense.weight', 'pooler.dense.bias']
    if arch == 'BertModel':
        return enc + pooler, set(pooler)  # a BertModel without a pooler loads with it initialised (a warning)
    enc = ['bert.' + n for n in enc]
    if arch == 'BertForMaskedLM':
        tied = {'cls.predictions.decoder.weight', 'cls.predictions.decoder.bias'}
        return enc + ['cls.predictions.transform.dense.weight', 'cls.predictions.transform.dense.bias',
                      'cls.predictions.transform.LayerNorm.weight', 'cls.predictions.transform.LayerNorm.bias',
                      'cls.predictions.bias'] + sorted(tied), tied
    if arch == 'BertForSequenceClassification':
        return enc + ['bert.' + n for n in pooler] + ['classifier.weight', 'classifier.bias'], set()
    if arch == 'BertForTokenClassification':
        return enc + ['classifier.weight', 'classifier.bias'], set()
    raise SystemExit(f'unknown architecture {arch}')


def check(d, inputs_path):
    problems = []
    cfg = json.load(open(os.path.join(d, 'config.json')))
    if cfg.get('model_type') != 'bert':
        problems.append(f'model_type {cfg.get("model_type")!r}, expected "bert"')
    archs = cfg.get('architectures') or []
    arch = archs[0] if len(archs) == 1 else None
    if arch is None:
        raise SystemExit(f'{d}/config.json: architectures {archs!r}: expected one class')
    if 'tunebench' in cfg:
        problems.append('config.json carries a "tunebench" block')
    for k in ('vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings',
              'type_vocab_size', 'layer_norm_eps', 'hidden_act'):
        if k not in cfg:
            problems.append(f'config.json lacks {k}')
    if cfg.get('hidden_act') != 'gelu':
        problems.append(f'hidden_act {cfg.get("hidden_act")!r} (this check computes erf GELU)')
    if cfg.get('position_embedding_type', 'absolute') != 'absolute':
        problems.append('position_embedding_type is not absolute')
    if arch in ('BertForSequenceClassification', 'BertForTokenClassification'):
        i2l, l2i = cfg.get('id2label'), cfg.get('label2id')
        if not i2l or not l2i:
            problems.append('a classifier without id2label / label2id')
        else:
            if sorted(i2l) != [str(i) for i in range(len(i2l))]:
                problems.append(f'id2label keys {sorted(i2l)}')
            if any(l2i.get(v) != int(k) for k, v in i2l.items()):
                problems.append('label2id does not invert id2label')
    tensors, meta = load_safetensors(os.path.join(d, 'model.safetensors'))
    if meta.get('format') != 'pt':
        problems.append(f'__metadata__ {meta!r}: transformers wants {{"format": "pt"}}')
    names, may_miss = expected_names(cfg, arch)
    missing = [n for n in names if n not in tensors and n not in may_miss]
    unexpected = sorted(set(tensors) - set(names))
    problems += [f'missing tensor {n}' for n in missing] + [f'unexpected tensor {n}' for n in unexpected]
    for n, (arr, dt) in tensors.items():
        if dt != 'F32':
            problems.append(f'{n} is {dt}')
    vocab = open(os.path.join(d, 'vocab.txt'), encoding='utf-8').read().split('\n')
    if vocab and vocab[-1] == '':
        vocab.pop()
    if len(vocab) != cfg['vocab_size']:
        problems.append(f'vocab.txt has {len(vocab)} tokens, vocab_size {cfg["vocab_size"]}')
    emb = tensors.get('bert.embeddings.word_embeddings.weight', tensors.get('embeddings.word_embeddings.weight'))
    if emb is not None and emb[0].shape != (cfg['vocab_size'], cfg['hidden_size']):
        problems.append(f'word embeddings {emb[0].shape}')
    tc = json.load(open(os.path.join(d, 'tokenizer_config.json')))
    sm = json.load(open(os.path.join(d, 'special_tokens_map.json')))
    for k in ('unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'):
        if sm.get(k) not in vocab:
            problems.append(f'special_tokens_map.json {k} {sm.get(k)!r} is not in vocab.txt')
    if tc.get('tokenizer_class') not in ('BertTokenizer', 'BertTokenizerFast'):
        problems.append(f'tokenizer_class {tc.get("tokenizer_class")!r}')
    inputs = json.load(open(inputs_path))
    tok = Tokenizer(vocab, tc)
    ids = [tok.ids(t)[0] for t in inputs.get('texts', [])]
    P = {n: torch.from_numpy(a.astype(np.float64)) for n, (a, dt) in tensors.items() if dt == 'F32'}
    outputs = {k: v.reshape(-1).tolist() for k, v in forward(P, cfg, arch, inputs['batch']).items()} if not missing else {}
    print(json.dumps({'architecture': arch, 'tensors': sorted(tensors), 'missing': missing, 'problems': problems,
                      'outputs': outputs, 'ids': ids,
                      'tokenizer': {k: tc.get(k) for k in ('do_lower_case', 'strip_accents', 'tokenize_chinese_chars')},
                      'labels': [cfg['id2label'][str(i)] for i in range(len(cfg['id2label']))] if 'id2label' in cfg and arch != 'BertModel' and arch != 'BertForMaskedLM' else None}))
    if problems:
        sys.stderr.write('\n'.join(problems) + '\n')
        sys.exit(1)

# ------------------------------------------------------------------------------------------------
# make: the import fixtures


VOCAB = (['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'dog', 'sat', 'on', 'mat', 'run', 'jump', 'big',
          'small', 'The', 'Cat', 'café', 'cafe', 'hello', 'world', 'un', '##believ', '##able', '##ing', '##é',
          '中', '文', '##文', '字', '.', ',', '!', '?']
         + [chr(c) for c in range(ord('a'), ord('z') + 1)] + ['##' + chr(c) for c in range(ord('a'), ord('z') + 1)]
         + [chr(c) for c in range(ord('A'), ord('Z') + 1)])

CONFIG = {
    'attention_probs_dropout_prob': 0.1, 'classifier_dropout': None, 'hidden_act': 'gelu', 'hidden_dropout_prob': 0.1,
    'hidden_size': 32, 'initializer_range': 0.02, 'intermediate_size': 64, 'layer_norm_eps': 1e-12,
    'max_position_embeddings': 32, 'model_type': 'bert', 'num_attention_heads': 2, 'num_hidden_layers': 2,
    'pad_token_id': 0, 'position_embedding_type': 'absolute', 'torch_dtype': 'float32', 'transformers_version': '4.57.6',
    'type_vocab_size': 2, 'use_cache': True, 'vocab_size': len(VOCAB),
}

TEXTS = ['The cat sat on the mat.', 'Hello, big world!', 'unbelievable cafés', 'a dog runs 中文字', 'Café? jumping CATS']


def random_params(names_shapes, seed):
    g = torch.Generator().manual_seed(seed)
    P = {}
    for n, shape in names_shapes:
        if n.endswith('LayerNorm.weight'):
            v = 1 + 0.2 * torch.randn(shape, generator=g)
        elif n.endswith('.bias'):
            v = 0.1 * torch.randn(shape, generator=g)
        else:
            v = 0.3 * torch.randn(shape, generator=g)
        P[n] = torch.from_numpy(v.numpy().astype(np.float32).astype(np.float64))  # the file holds float32
    return P


def shapes(cfg, arch, labels):
    V, H, I, Pm, TV = cfg['vocab_size'], cfg['hidden_size'], cfg['intermediate_size'], cfg['max_position_embeddings'], cfg['type_vocab_size']
    names, tied = expected_names(cfg, arch)
    out = []
    for n in names:
        if n in tied and arch != 'BertModel':  # BertModel's "tied" set is its pooler, which may be missing
            continue
        b = n.split('.')
        if 'word_embeddings' in n:
            s = [V, H]
        elif 'position_embeddings' in n:
            s = [Pm, H]
        elif 'token_type_embeddings' in n:
            s = [TV, H]
        elif n == 'cls.predictions.bias':
            s = [V]
        elif 'classifier' in n:
            s = [len(labels), H] if n.endswith('weight') else [len(labels)]
        elif 'intermediate.dense' in n:
            s = [I, H] if n.endswith('weight') else [I]
        elif '.output.dense' in n and 'attention' not in n:
            s = [H, I] if n.endswith('weight') else [H]
        else:
            s = [H, H] if n.endswith('weight') and 'LayerNorm' not in n else [H]
        out.append((n, s))
    return out


def batch_of(tok):
    rows = [tok.ids(t) for t in TEXTS] + [tok.ids('the cat', 'a big dog')]
    T = max(len(r[0]) for r in rows)
    ids, mask, types = [], [], []
    for r, ty in rows:
        pad = T - len(r)
        ids += r + [0] * pad
        mask += [1] * len(r) + [0] * pad
        types += ty + [0] * pad
    return {'B': len(rows), 'T': T, 'inputIds': ids, 'attentionMask': mask, 'tokenTypeIds': types}, [r for r, _ in rows]


def write_fixture(out, name, arch, labels, tok_cfg, seed, extra):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    cfg = dict(CONFIG, architectures=[arch])
    if labels:
        cfg['id2label'] = {str(i): l for i, l in enumerate(labels)}
        cfg['label2id'] = {l: i for i, l in enumerate(labels)}
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write('\n')
    with open(os.path.join(d, 'vocab.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(VOCAB) + '\n')
    if tok_cfg is not None:
        with open(os.path.join(d, 'tokenizer_config.json'), 'w') as f:
            json.dump(dict(tok_cfg, tokenizer_class='BertTokenizer', model_max_length=32, cls_token='[CLS]', sep_token='[SEP]',
                           pad_token='[PAD]', unk_token='[UNK]', mask_token='[MASK]'), f, indent=2)
            f.write('\n')
    P = random_params(shapes(cfg, arch, labels), seed)
    tensors = {n: (v.numpy().astype(np.float32), 'F32') for n, v in P.items()}
    extra(tensors, P)
    save_safetensors(os.path.join(d, 'model.safetensors'), tensors, {'format': 'pt'})
    tok = Tokenizer(VOCAB, tok_cfg or {})
    batch, ids = batch_of(tok)
    outputs = forward(P, cfg, arch, batch)
    expected = {
        'about': f'written by packages/trainer/scripts/hf_bert.py make (PyTorch {torch.__version__}, float64 forward on the float32 weights); do not edit',
        'architecture': arch, 'labels': labels, 'texts': TEXTS, 'pair': ['the cat', 'a big dog'], 'ids': ids, 'batch': batch,
        'outputs': {k: [float(f'{x:.12g}') for x in v.reshape(-1).tolist()] for k, v in outputs.items()},
    }
    with open(os.path.join(d, 'expected.json'), 'w') as f:
        json.dump(expected, f, separators=(',', ':'))
        f.write('\n')
    print(d, arch, sorted(tensors)[:3], '...', len(tensors), 'tensors')


def make(out):
    assert len(set(VOCAB)) == len(VOCAB), 'vocab.txt must not repeat a token'
    def mlm_extra(t, P):
        # As older transformers saved BertForMaskedLM: the tied decoder written out, and the position_ids buffer.
        t['cls.predictions.decoder.weight'] = t['bert.embeddings.word_embeddings.weight']
        t['cls.predictions.decoder.bias'] = t['cls.predictions.bias']
        t['bert.embeddings.position_ids'] = (np.arange(CONFIG['max_position_embeddings'], dtype=np.int64)[None], 'I64')
    write_fixture(out, 'mlm', 'BertForMaskedLM', None,
                  {'do_lower_case': True, 'strip_accents': False, 'tokenize_chinese_chars': False}, 1, mlm_extra)
    write_fixture(out, 'seq_cls', 'BertForSequenceClassification', ['negative', 'neutral', 'positive'],
                  {'do_lower_case': False, 'strip_accents': None, 'tokenize_chinese_chars': True}, 2, lambda t, P: None)
    write_fixture(out, 'base', 'BertModel', None, None, 3, lambda t, P: None)


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == 'make':
        make(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == 'check':
        check(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
