#!/usr/bin/python3
"""PyTorch CPU peer of `tunebench bench peers` (packages/bench/src/perf/peers.ts).

Times training steps of the same work as our GPU path, in plain torch (no transformers), fp32:
  layer  one BERT encoder layer, d 128, 4 heads, T 64, B 32, FFN 512, post-LN, exact-erf GELU,
         with a 2-class token head on a fixed random input (as the tfjs peer): forward, backward,
         torch.optim.Adam lr 1e-3. No dropout.
  tiny   a full MLM step of BERT-tiny (L2 H128, 2 heads, FFN 512), vocabulary 8192, B 32, T 128,
         15 % of tokens labelled: embeddings (word + position + type, LayerNorm, dropout 0.1),
         2 post-LN layers (dropout 0.1 on hidden states and attention probabilities), MLM head
         on the labelled rows only (dense + GELU + LayerNorm, decoder tied to the word
         embeddings + bias), cross-entropy; AdamW lr 1e-4, weight decay 0.01 — the step of
         packages/trainer/src/bench/encoder_layer.ts `tiny`.
Each measured step ends when optimizer.step() returns (the CPU has finished the work).

Usage: /usr/bin/python3 torch_peer.py layer|tiny [--steps N] [--warmup N] [--threads N]
Prints one JSON line: {"peer": "pytorch-cpu", "case", "torch", "threads", "steps", "warmup",
"ms": [per-step wall ms]}; when torch cannot be imported: {"skipped": "<reason>"} and exit 0.
"""
import argparse
import json
import math
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument('case', choices=['layer', 'tiny'])
    p.add_argument('--steps', type=int, default=6)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    a = p.parse_args()
    if a.steps < 1 or a.warmup < 0 or a.threads < 1:
        p.error('--steps ≥ 1, --warmup ≥ 0, --threads ≥ 1')
    return a


def encoder_layer(torch, F, d, heads, ffn, dropout):
    """Post-LN BERT layer as a closure over its parameters (list returned beside it)."""
    nn = torch.nn
    qkv = nn.Linear(d, 3 * d)
    out = nn.Linear(d, d)
    ln1 = nn.LayerNorm(d, eps=1e-12)
    up = nn.Linear(d, ffn)
    down = nn.Linear(ffn, d)
    ln2 = nn.LayerNorm(d, eps=1e-12)
    mods = nn.ModuleList([qkv, out, ln1, up, down, ln2])
    hs = d // heads

    def forward(x):  # x: [B, T, d]
        B, T, _ = x.shape
        q, k, v = qkv(x).view(B, T, 3, heads, hs).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) * (1.0 / math.sqrt(hs)), dim=-1)
        att = F.dropout(att, dropout, True)
        ctx = (att @ v).transpose(1, 2).reshape(B, T, d)
        h = ln1(x + F.dropout(out(ctx), dropout, True))
        return ln2(h + F.dropout(down(F.gelu(up(h))), dropout, True))
    return forward, mods


def layer_step(torch, F):
    D, H, T, B, FF = 128, 4, 64, 32, 512
    torch.manual_seed(1)
    layer, mods = encoder_layer(torch, F, D, H, FF, 0.0)
    head = torch.nn.Linear(D, 2)
    params = list(mods.parameters()) + list(head.parameters())
    x = torch.randn(B, T, D)
    labels = torch.arange(B * T) % 2
    opt = torch.optim.Adam(params, lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(head(layer(x)).view(B * T, 2), labels)
        loss.backward()
        opt.step()
    return step


def tiny_step(torch, F):
    V, D, L, H, FF, B, T, P, DROP = 8192, 128, 2, 2, 512, 32, 128, 128, 0.1
    nn = torch.nn
    torch.manual_seed(2)
    word, pos, typ = nn.Embedding(V, D), nn.Embedding(P, D), nn.Embedding(2, D)
    ln_emb = nn.LayerNorm(D, eps=1e-12)
    layers = [encoder_layer(torch, F, D, H, FF, DROP) for _ in range(L)]
    transform, ln_head = nn.Linear(D, D), nn.LayerNorm(D, eps=1e-12)
    dec_bias = nn.Parameter(torch.zeros(V))
    mods = nn.ModuleList([word, pos, typ, ln_emb, transform, ln_head] + [m for _, m in layers])
    params = list(mods.parameters()) + [dec_bias]
    ids = torch.randint(1, V, (B, T))
    labelled = torch.rand(B, T) < 0.15
    labels = torch.where(labelled, torch.randint(0, V, (B, T)), torch.full((B, T), -100))
    rows = labelled.view(-1).nonzero().squeeze(1)
    targets = labels.view(-1)[rows]
    positions = torch.arange(T).unsqueeze(0).expand(B, T)
    types = torch.zeros(B, T, dtype=torch.long)
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        x = F.dropout(ln_emb(word(ids) + pos(positions) + typ(types)), DROP, True)
        for fwd, _ in layers:
            x = fwd(x)
        h = x.reshape(B * T, D).index_select(0, rows)
        h = ln_head(F.gelu(transform(h)))
        loss = F.cross_entropy(h @ word.weight.t() + dec_bias, targets)
        loss.backward()
        opt.step()
    return step


def main():
    a = parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # ImportError, or a broken install raising something else
        print(json.dumps({'skipped': f'PyTorch cannot be imported by {sys.executable}: {type(e).__name__}: {e}'}))
        return
    torch.set_num_threads(a.threads)
    step = (layer_step if a.case == 'layer' else tiny_step)(torch, F)
    for _ in range(a.warmup):
        step()
    ms = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({'peer': 'pytorch-cpu', 'case': a.case, 'torch': torch.__version__, 'threads': torch.get_num_threads(),
                      'steps': a.steps, 'warmup': a.warmup, 'ms': ms}))


if __name__ == '__main__':
    main()
