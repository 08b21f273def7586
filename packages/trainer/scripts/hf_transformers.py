#!/usr/bin/python3
"""tunebench's Hugging Face import / export checked against transformers itself.

Runs with a python3 that has transformers, torch, tokenizers and safetensors: Debian sid's
python3-transformers in the chroot that scripts/setup-hf-sid.sh builds (Debian 12 has no
transformers). Used only to regenerate test/fixtures/hf/transformers (see test/hf_transformers_fixtures.ts);
the tests read the committed output and need no Python.

  make OUT     with a fixed torch seed, a tiny random BertForMaskedLM, BertForSequenceClassification
               (3 labels) and BertForTokenClassification (BIO labels), each saved with save_pretrained
               (safetensors) with its tokenizer of VOCAB (BertTokenizer = BertTokenizerFast in transformers 5,
               lowercase, for mlm and token_cls; BertTokenizerLegacy, cased, for seq_cls) into
               OUT/{mlm,seq_cls,token_cls}, with expected.json:
               texts, the tokenizer's ids (with [CLS] / [SEP]), a padded batch and the model's float64
               outputs in eval mode (model.double()) on that batch
  check DIR INPUTS.json
               load DIR with AutoConfig / AutoTokenizer / the class named by config.architectures
               (from_pretrained, output_loading_info=True), tokenize INPUTS' texts, run the float64
               forward on INPUTS' batch and print JSON {versions, architecture, class, loading, warnings,
               labels, tokenizer, ids, outputs, problems}; exit 1 when there are problems (missing,
               unexpected or mismatched keys, a warning while loading, a class other than the one asked)

Run (as root, in the chroot): python3 hf_transformers.py make /tmp/out
"""
import io
import json
import logging
import os
import sys
import warnings

import torch
import transformers
from transformers import (AutoConfig, AutoTokenizer, BertConfig, BertForMaskedLM, BertForSequenceClassification,
                          BertForTokenClassification, BertTokenizer, BertTokenizerLegacy)

SEED = 21

# A small vocab.txt: special tokens, lowercase and uppercase words, accented words and pieces,
# CJK characters (whole and as ##pieces), punctuation, single letters so that nothing is [UNK] by
# accident. Unique tokens, in this order (the ids are the line numbers).
VOCAB = (['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]',
          'the', 'cat', 'dog', 'sat', 'on', 'mat', 'run', 'jump', '##ing', 'big', 'small', 'hello', 'world',
          'The', 'Cat', 'Paris', 'PARIS', 'Hello', 'café', 'cafe', 'naïve', 'naive', 'résumé', 'resume', 'über', 'uber',
          'Zürich', 'zurich', 'un', '##believ', '##able', '##é', '##ü',
          '中', '文', '##文', '字', '北', '京', '我', '爱', '你', '好',
          '.', ',', '!', '?', "'", '-', '(', ')']
         + [chr(c) for c in range(ord('a'), ord('z') + 1)] + ['##' + chr(c) for c in range(ord('a'), ord('z') + 1)]
         + [chr(c) for c in range(ord('A'), ord('Z') + 1)])

TEXTS = ['The cat sat on the mat.', 'Hello, big WORLD!', 'unbelievable cafés in Zürich', '我爱北京 and 中文字',
         'Naïve résumé (über) jumping CATS?', "the dog's run-s"]
PAIR = ['the cat', 'a big dog']

# Which of TEXTS + [PAIR] (by index) make the padded batch the outputs are computed on: all of them,
# except for the MLM (vocabulary-sized logits per token: the accented text and the pair keep
# expected.json small).
BATCH_ROWS = {'mlm': [2, len(TEXTS)]}

CONFIG = dict(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
              max_position_embeddings=32, type_vocab_size=2, hidden_act='gelu', layer_norm_eps=1e-12, pad_token_id=0)

# kind → (class, labels, tokenizer class, tokenizer options)
KINDS = {
    'mlm': (BertForMaskedLM, None, BertTokenizer, dict(do_lower_case=True, strip_accents=False, tokenize_chinese_chars=False)),
    'seq_cls': (BertForSequenceClassification, ['negative', 'neutral', 'positive'], BertTokenizerLegacy,
                dict(do_lower_case=False, strip_accents=None, tokenize_chinese_chars=True)),
    'token_cls': (BertForTokenClassification, ['O', 'B-LOC', 'I-LOC', 'B-PER', 'I-PER'], BertTokenizer,
                  dict(do_lower_case=True, strip_accents=None, tokenize_chinese_chars=True)),
}


def versions():
    return {'transformers': transformers.__version__, 'torch': torch.__version__}


def scramble(model, seed):
    """Replace transformers' init (std 0.02: near-zero logits) by larger seeded values, so the outputs test something.

    named_parameters lists tied tensors once (the MLM decoder is the word embeddings), so ties survive."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('LayerNorm.weight'):
                v = 1 + 0.2 * torch.randn(p.shape, generator=g)
            elif name.endswith('.bias'):
                v = 0.1 * torch.randn(p.shape, generator=g)
            else:
                v = 0.3 * torch.randn(p.shape, generator=g)
            p.copy_(v)


def encode(tok, text, pair=None):
    """input_ids, attention_mask and token_type_ids of one text (or pair) with [CLS] / [SEP]."""
    return tok(text, pair, return_token_type_ids=True, return_attention_mask=True)


def pad_batch(tok, rows):
    """One padded batch of the tokenizer's encodings of rows (a text, or a [text, text] pair), as expected.json / inputs.json hold it."""
    enc = [encode(tok, *r) if isinstance(r, list) else encode(tok, r) for r in rows]
    T = max(len(e['input_ids']) for e in enc)
    ids, mask, types = [], [], []
    for e in enc:
        n = len(e['input_ids'])
        ids += e['input_ids'] + [tok.pad_token_id] * (T - n)
        mask += e['attention_mask'] + [0] * (T - n)
        types += e['token_type_ids'] + [0] * (T - n)
    return {'B': len(enc), 'T': T, 'inputIds': ids, 'attentionMask': mask, 'tokenTypeIds': types}


def forward64(model, batch):
    """The model's outputs in eval mode, float64, on a padded batch (the model is turned to float64 in place)."""
    model.double().eval()
    shape = (batch['B'], batch['T'])
    with torch.no_grad():
        out = model(input_ids=torch.tensor(batch['inputIds']).reshape(shape),
                    attention_mask=torch.tensor(batch['attentionMask']).reshape(shape),
                    token_type_ids=torch.tensor(batch['tokenTypeIds']).reshape(shape))
    # 12 significant digits: far below the tests' tolerance, and a third smaller on disk.
    return {'logits': [float(f'{x:.12g}') for x in out.logits.reshape(-1).tolist()]}


def make(out):
    assert len(set(VOCAB)) == len(VOCAB), 'vocab.txt must not repeat a token'
    os.makedirs(out, exist_ok=True)
    vocab_file = os.path.join(out, 'vocab.txt')
    with open(vocab_file, 'w', encoding='utf-8') as f:
        f.write('\n'.join(VOCAB) + '\n')
    for i, (kind, (cls, labels, tok_cls, tok_opts)) in enumerate(KINDS.items()):
        torch.manual_seed(SEED + i)
        extra = {'id2label': dict(enumerate(labels)), 'label2id': {l: j for j, l in enumerate(labels)}} if labels else {}
        model = cls(BertConfig(**CONFIG, **extra))
        scramble(model, SEED + i)
        d = os.path.join(out, kind)
        model.save_pretrained(d)  # float32, safetensors
        # transformers 5's BertTokenizer (the Rust tokenizers backend; BertTokenizerFast is the same class)
        # takes the vocabulary as a dict and saves tokenizer.json only (no vocab.txt); BertTokenizerLegacy
        # (the Python WordPiece) reads and saves vocab.txt.
        vocab = {'vocab_file': vocab_file} if tok_cls is BertTokenizerLegacy else {'vocab': {t: j for j, t in enumerate(VOCAB)}}
        tok = tok_cls(**vocab, model_max_length=CONFIG['max_position_embeddings'], **tok_opts)
        assert len(tok) == len(VOCAB), f'{tok_cls.__name__}: {len(tok)} tokens, vocab.txt has {len(VOCAB)}'
        tok.save_pretrained(d)
        # What a user gets back: the saved directory, through the Auto classes.
        tok = AutoTokenizer.from_pretrained(d)
        model = cls.from_pretrained(d)
        ids = [encode(tok, t)['input_ids'] for t in TEXTS] + [encode(tok, *PAIR)['input_ids']]
        batch_rows = BATCH_ROWS.get(kind, list(range(len(ids))))
        batch = pad_batch(tok, [(TEXTS + [PAIR])[r] for r in batch_rows])
        expected = {
            'about': f'written by packages/trainer/scripts/hf_transformers.py make (transformers {transformers.__version__}, '
                     f'torch {torch.__version__}: the saved model in eval mode, model.double()); do not edit',
            'versions': versions(), 'architecture': cls.__name__, 'tokenizer_class': type(tok).__name__, 'labels': labels,
            'texts': TEXTS, 'pair': PAIR, 'ids': ids, 'batchRows': batch_rows, 'batch': batch, 'outputs': forward64(model, batch),
        }
        with open(os.path.join(d, 'expected.json'), 'w', encoding='utf-8') as f:
            json.dump(expected, f, ensure_ascii=False, separators=(',', ':'))
            f.write('\n')
        print(d, cls.__name__, type(tok).__name__, sorted(os.listdir(d)), file=sys.stderr)
    os.remove(vocab_file)


def check(d, inputs_path):
    problems = []
    # Everything transformers says while loading (its logger and Python warnings) is reported.
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    transformers.utils.logging.set_verbosity_warning()
    transformers.utils.logging.add_handler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        config = AutoConfig.from_pretrained(d)
        archs = config.architectures or []
        if len(archs) != 1:
            raise SystemExit(f'{d}/config.json: architectures {archs!r}: expected one class')
        cls = getattr(transformers, archs[0])
        tok = AutoTokenizer.from_pretrained(d)
        model, info = cls.from_pretrained(d, output_loading_info=True)
    transformers.utils.logging.remove_handler(handler)
    loading = {k: sorted(map(str, v)) for k, v in info.items()}
    for k, v in loading.items():
        problems += [f'{k}: {x}' for x in v]
    said = [l for l in log.getvalue().splitlines() if l.strip()] + [f'{w.category.__name__}: {w.message}' for w in caught]
    problems += [f'while loading: {l}' for l in said]
    if type(model).__name__ != archs[0]:
        problems.append(f'loaded as {type(model).__name__}, config.json says {archs[0]}')
    inputs = json.load(open(inputs_path, encoding='utf-8'))
    ids = [encode(tok, t)['input_ids'] for t in inputs.get('texts', [])]
    if inputs.get('pair'):
        ids.append(encode(tok, *inputs['pair'])['input_ids'])
    labels = [config.id2label[i] for i in range(config.num_labels)] if archs[0] != 'BertForMaskedLM' else None
    print(json.dumps({
        'versions': versions(), 'architecture': archs[0], 'class': type(model).__name__, 'loading': loading, 'warnings': said,
        'labels': labels, 'tokenizer': {'class': type(tok).__name__, 'do_lower_case': getattr(tok, 'do_lower_case', None)},
        'ids': ids, 'outputs': forward64(model, inputs['batch']), 'problems': problems,
    }, ensure_ascii=False))
    if problems:
        sys.stderr.write('\n'.join(problems) + '\n')
        sys.exit(1)


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == 'make':
        make(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == 'check':
        check(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
