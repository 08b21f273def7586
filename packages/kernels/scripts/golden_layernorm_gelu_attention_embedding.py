#!/usr/bin/python3
"""PyTorch goldens for layernorm, GELU (erf and tanh, plain and with bias), attention with a
key-padding mask, and embeddings (run with Debian's /usr/bin/python3 + python3-torch).

Writes small JSON fixtures to ../test/fixtures/<family>_torch.json: inputs, outputs and gradients
computed by PyTorch in float64 from inputs first rounded to float32 (the exact values the GPU
sees). The TypeScript tests read them; CI never needs Python.

    /usr/bin/python3 packages/kernels/scripts/golden_layernorm_gelu_attention_embedding.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(2024)
D = torch.float64


def f32(t):
    """Round to float32 and back to float64: the exact values the GPU sees."""
    return t.to(torch.float32).to(D)


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def ints(t):
    return [int(x) for x in t.reshape(-1).tolist()]


def dump(name, obj):
    obj["torch_version"] = torch.__version__
    obj["generator"] = "packages/kernels/scripts/golden_layernorm_gelu_attention_embedding.py"
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"), allow_nan=False)
    print("wrote", name)


# ---------------------------------------------------------------- layernorm
def layernorm_case(N, C, offset, eps):
    x = f32(torch.randn(N, C, dtype=D) * 1.5 + offset).requires_grad_(True)
    w = f32(torch.rand(C, dtype=D) + 0.5).requires_grad_(True)
    b = f32(torch.randn(C, dtype=D) * 0.5).requires_grad_(True)
    dout = f32(torch.randn(N, C, dtype=D))
    y = F.layer_norm(x, (C,), w, b, eps)
    (y * dout).sum().backward()
    mean = x.detach().mean(dim=1)
    rstd = 1.0 / torch.sqrt(x.detach().var(dim=1, unbiased=False) + eps)
    return {"N": N, "C": C, "eps": eps, "x": flat(x), "weight": flat(w), "bias": flat(b), "dout": flat(dout),
            "out": flat(y), "mean": flat(mean), "rstd": flat(rstd),
            "dinp": flat(x.grad), "dweight": flat(w.grad), "dbias": flat(b.grad)}


dump("layernorm_torch.json", {"cases": [layernorm_case(5, 7, 0.0, 1e-5), layernorm_case(4, 64, 3.0, 1e-12),
                                         layernorm_case(1, 33, -2.0, 1e-5)]})


# ---------------------------------------------------------------- GELU
def gelu_case(approximate):
    x = f32(torch.cat([torch.linspace(-8, 8, 61, dtype=D), torch.randn(40, dtype=D) * 3])).requires_grad_(True)
    dout = f32(torch.randn(x.numel(), dtype=D))
    y = F.gelu(x, approximate=approximate)
    (y * dout).sum().backward()
    return {"approximate": approximate, "N": x.numel(), "x": flat(x), "dout": flat(dout), "out": flat(y), "dinp": flat(x.grad)}


def bias_gelu_case(approximate, rows, C):
    x = f32(torch.randn(rows, C, dtype=D) * 2).requires_grad_(True)
    bias = f32(torch.randn(C, dtype=D)).requires_grad_(True)
    dout = f32(torch.randn(rows, C, dtype=D))
    y = F.gelu(x + bias, approximate=approximate)
    (y * dout).sum().backward()
    return {"approximate": approximate, "rows": rows, "C": C, "x": flat(x), "bias": flat(bias), "dout": flat(dout),
            "out": flat(y), "dinp": flat(x.grad), "dbias": flat(bias.grad)}


dump("gelu_torch.json", {"gelu": [gelu_case("none"), gelu_case("tanh")],
                         "bias_gelu": [bias_gelu_case("none", 6, 9), bias_gelu_case("tanh", 3, 17)]})


# ---------------------------------------------------------------- attention (key-padding mask)
def attention_case(B, T, NH, HS, lens):
    C = NH * HS
    q = f32(torch.randn(B, T, C, dtype=D)).requires_grad_(True)
    k = f32(torch.randn(B, T, C, dtype=D)).requires_grad_(True)
    v = f32(torch.randn(B, T, C, dtype=D)).requires_grad_(True)
    dout = f32(torch.randn(B, T, C, dtype=D))
    mask = torch.zeros(B, T, dtype=torch.int32)
    for bi, n in enumerate(lens):
        mask[bi, :n] = 1

    def heads(t):  # (B, T, C) -> (B, NH, T, HS)
        return t.view(B, T, NH, HS).transpose(1, 2)

    s = heads(q) @ heads(k).transpose(-1, -2) / math.sqrt(HS)
    s = s.masked_fill(mask[:, None, None, :] == 0, float("-inf"))
    lse = torch.logsumexp(s, dim=-1)  # (B, NH, T)
    p = torch.softmax(s, dim=-1)
    out = (p @ heads(v)).transpose(1, 2).reshape(B, T, C)
    (out * dout).sum().backward()
    return {"B": B, "T": T, "NH": NH, "HS": HS, "mask": ints(mask), "q": flat(q), "k": flat(k), "v": flat(v),
            "dout": flat(dout), "out": flat(out), "lse": flat(lse), "dq": flat(q.grad), "dk": flat(k.grad), "dv": flat(v.grad)}


dump("attention_torch.json", {"cases": [attention_case(2, 5, 2, 3, [5, 3]), attention_case(2, 16, 2, 8, [11, 16]),
                                         attention_case(1, 1, 3, 4, [1])]})


# ---------------------------------------------------------------- embedding
def embedding_case(B, T, C, V, TV):
    ids = torch.randint(0, V, (B, T))
    ids[0, 0] = ids[-1, -1]  # at least one repeated id
    types = torch.randint(0, TV, (B, T))
    wte = f32(torch.randn(V, C, dtype=D)).requires_grad_(True)
    wpe = f32(torch.randn(T + 2, C, dtype=D)).requires_grad_(True)  # more positions than T, as in a model
    wtt = f32(torch.randn(TV, C, dtype=D)).requires_grad_(True)
    dout = f32(torch.randn(B, T, C, dtype=D))
    pos = torch.arange(T)
    out = F.embedding(ids, wte) + F.embedding(pos, wpe)[None] + F.embedding(types, wtt)
    (out * dout).sum().backward()
    return {"B": B, "T": T, "C": C, "V": V, "TV": TV, "P": T + 2, "ids": ints(ids), "typeIds": ints(types),
            "wte": flat(wte), "wpe": flat(wpe), "wtt": flat(wtt), "dout": flat(dout), "out": flat(out),
            "dwte": flat(wte.grad), "dwpe": flat(wpe.grad), "dwtt": flat(wtt.grad)}


dump("embedding_torch.json", {"cases": [embedding_case(2, 4, 3, 6, 2), embedding_case(3, 7, 16, 11, 2)]})
