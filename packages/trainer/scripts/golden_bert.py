#!/usr/bin/python3
"""PyTorch golden fixtures for tunebench's BERT (packages/trainer/src/model).

Builds a tiny post-LN BERT in plain torch (no transformers package), float64, with the same
parameter names as Hugging Face's BertForMaskedLM / BertForSequenceClassification, fills every
parameter with a deterministic rule that the TypeScript test reproduces bit for bit (mulberry32
seeded by the FNV-1a hash of the parameter name), and writes for each head:
  logits, loss, the gradient of every parameter, and the weights after 5 AdamW steps on the same
  batch (torch.optim.AdamW, lr 1e-2, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01 on weights
  only; biases, LayerNorm parameters and cls.predictions.bias get none). Dropout is off.

Run with Debian's python3-torch:  /usr/bin/python3 packages/trainer/scripts/golden_bert.py
Writes packages/trainer/test/fixtures/bert_mlm.json and bert_seq_cls.json.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

CONFIG = dict(vocabSize=40, hiddenSize=16, numLayers=2, numHeads=2, intermediateSize=32, maxPositions=8,
              typeVocabSize=2, hiddenDropout=0.0, attentionDropout=0.0, layerNormEps=1e-12,
              initializerRange=0.02, hiddenAct='gelu')
ADAMW = dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weightDecay=0.01, steps=5)
SEED = 1234
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')


def mulberry32(seed):
    a = seed & 0xFFFFFFFF

    def imul(x, y):
        return (x * y) & 0xFFFFFFFF

    def nxt():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296
    return nxt


def fnv1a(name):
    h = 0x811C9DC5
    for ch in name:
        h = ((h ^ ord(ch)) * 0x01000193) & 0xFFFFFFFF
    return h


def golden_values(name, n, kind):
    """kind: 'weight' → U(−0.3, 0.3); 'ln' → 1 + U(−0.2, 0.2); 'bias' → U(−0.1, 0.1)."""
    rand = mulberry32(fnv1a(name) ^ SEED)
    span = {'weight': 0.6, 'ln': 0.4, 'bias': 0.2}[kind]
    base = 1.0 if kind == 'ln' else 0.0
    return [base + (rand() - 0.5) * span for _ in range(n)]


def param_list(heads):
    c = CONFIG
    H, V, Fi, P, TV, L = c['hiddenSize'], c['vocabSize'], c['intermediateSize'], c['maxPositions'], c['typeVocabSize'], c['numLayers']
    out = []

    def lin(p, o, i):
        out.append((p + '.weight', [o, i], 'weight'))
        out.append((p + '.bias', [o], 'bias'))

    def ln(p):
        out.append((p + '.weight', [H], 'ln'))
        out.append((p + '.bias', [H], 'bias'))
    out.append(('bert.embeddings.word_embeddings.weight', [V, H], 'weight'))
    out.append(('bert.embeddings.position_embeddings.weight', [P, H], 'weight'))
    out.append(('bert.embeddings.token_type_embeddings.weight', [TV, H], 'weight'))
    ln('bert.embeddings.LayerNorm')
    for l in range(L):
        p = f'bert.encoder.layer.{l}'
        lin(p + '.attention.self.query', H, H)
        lin(p + '.attention.self.key', H, H)
        lin(p + '.attention.self.value', H, H)
        lin(p + '.attention.output.dense', H, H)
        ln(p + '.attention.output.LayerNorm')
        lin(p + '.intermediate.dense', Fi, H)
        lin(p + '.output.dense', H, Fi)
        ln(p + '.output.LayerNorm')
    for h in heads:
        if h['kind'] == 'mlm':
            lin('cls.predictions.transform.dense', H, H)
            ln('cls.predictions.transform.LayerNorm')
            out.append(('cls.predictions.bias', [V], 'bias'))
        elif h['kind'] == 'seq_cls':
            lin('bert.pooler.dense', H, H)
            lin('classifier', h['numLabels'], H)
    return out


def make_params(heads):
    params = {}
    for name, shape, kind in param_list(heads):
        n = math.prod(shape)
        params[name] = torch.tensor(golden_values(name, n, kind)).reshape(shape).requires_grad_(True)
    return params


def layer_norm(x, P, p):
    return F.layer_norm(x, (x.shape[-1],), P[p + '.weight'], P[p + '.bias'], CONFIG['layerNormEps'])


def linear(x, P, p):
    return F.linear(x, P[p + '.weight'], P[p + '.bias'])


def encoder(P, ids, mask, types):
    c = CONFIG
    B, T = ids.shape
    H, NH = c['hiddenSize'], c['numHeads']
    HS = H // NH
    x = P['bert.embeddings.word_embeddings.weight'][ids] + P['bert.embeddings.position_embeddings.weight'][torch.arange(T)][None] \
        + P['bert.embeddings.token_type_embeddings.weight'][types]
    x = layer_norm(x, P, 'bert.embeddings.LayerNorm')
    for l in range(c['numLayers']):
        p = f'bert.encoder.layer.{l}'

        def heads_of(t):
            return t.view(B, T, NH, HS).transpose(1, 2)
        q = heads_of(linear(x, P, p + '.attention.self.query'))
        k = heads_of(linear(x, P, p + '.attention.self.key'))
        v = heads_of(linear(x, P, p + '.attention.self.value'))
        s = q @ k.transpose(-1, -2) / math.sqrt(HS)
        s = s.masked_fill(mask[:, None, None, :] == 0, float('-inf'))
        ctx = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, H)
        x = layer_norm(linear(ctx, P, p + '.attention.output.dense') + x, P, p + '.attention.output.LayerNorm')
        f = F.gelu(linear(x, P, p + '.intermediate.dense'))
        x = layer_norm(linear(f, P, p + '.output.dense') + x, P, p + '.output.LayerNorm')
    return x


def forward(P, head, batch):
    ids = torch.tensor(batch['inputIds']).view(batch['B'], batch['T'])
    mask = torch.tensor(batch['attentionMask']).view(batch['B'], batch['T'])
    types = torch.tensor(batch['tokenTypeIds']).view(batch['B'], batch['T'])
    labels = torch.tensor(batch['labels'])
    h = encoder(P, ids, mask, types)
    if head['kind'] == 'mlm':
        t = layer_norm(F.gelu(linear(h, P, 'cls.predictions.transform.dense')), P, 'cls.predictions.transform.LayerNorm')
        logits = (t @ P['bert.embeddings.word_embeddings.weight'].T + P['cls.predictions.bias']).reshape(-1, CONFIG['vocabSize'])
    else:
        pooled = torch.tanh(linear(h[:, 0], P, 'bert.pooler.dense'))
        logits = linear(pooled, P, 'classifier')
    loss = F.cross_entropy(logits, labels, ignore_index=-100)
    return logits, loss


def batch_for(head):
    B, T = 3, 7
    rand = mulberry32(99)
    lengths = [7, 5, 4]
    ids, mask, types, labels = [], [], [], []
    for b in range(B):
        for t in range(T):
            real = t < lengths[b]
            ids.append(int(rand() * CONFIG['vocabSize']) if real else 0)
            mask.append(1 if real else 0)
            types.append(1 if real and t >= lengths[b] // 2 + 1 else 0)
            if head['kind'] == 'mlm':
                labels.append(int(rand() * CONFIG['vocabSize']) if real and rand() < 0.5 else -100)
    if head['kind'] == 'seq_cls':
        labels = [2, 0, 1]
    return dict(B=B, T=T, inputIds=ids, attentionMask=mask, tokenTypeIds=types, labels=labels)


def r(x):
    return [float(f'{v:.12g}') for v in x.detach().reshape(-1).tolist()]


def run(head, fname):
    heads = [head]
    P = make_params(heads)
    batch = batch_for(head)
    logits, loss = forward(P, head, batch)
    loss.backward()
    grads = {n: r(p.grad) for n, p in P.items()}
    decay = [p for n, p in P.items() if n.endswith('.weight') and 'LayerNorm' not in n]
    no_decay = [p for n, p in P.items() if not (n.endswith('.weight') and 'LayerNorm' not in n)]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': ADAMW['weightDecay']}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=ADAMW['lr'], betas=(ADAMW['beta1'], ADAMW['beta2']), eps=ADAMW['eps'])
    losses = []
    for _ in range(ADAMW['steps']):
        opt.zero_grad()
        _, l = forward(P, head, batch)
        losses.append(l.item())
        l.backward()
        opt.step()
    fixture = dict(
        about='written by packages/trainer/scripts/golden_bert.py (PyTorch %s, float64); do not edit' % torch.__version__,
        config=CONFIG, heads=heads, seed=SEED,
        init='mulberry32(fnv1a(name) ^ seed): weights/embeddings (u-0.5)*0.6, LayerNorm weights 1+(u-0.5)*0.4, biases (u-0.5)*0.2',
        paramOrder=[n for n, _, _ in param_list(heads)],
        batch=batch, logits=r(logits), loss=loss.item(), grads=grads,
        adamw=ADAMW, stepLosses=losses, after={n: r(p) for n, p in P.items()},
    )
    with open(os.path.join(OUT, fname), 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    print(fname, 'loss', loss.item(), 'losses', losses)


if __name__ == '__main__':
    run({'kind': 'mlm'}, 'bert_mlm.json')
    run({'kind': 'seq_cls', 'numLabels': 3, 'pooling': 'cls'}, 'bert_seq_cls.json')
