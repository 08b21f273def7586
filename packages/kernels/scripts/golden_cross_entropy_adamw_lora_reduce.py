#!/usr/bin/python3
"""PyTorch goldens for softmax cross-entropy (plain, class-weighted, focal), AdamW (5 steps with
parameter groups; gradient-norm clipping), LoRA, and the sentence-embedding reductions (mean pooling,
L2 normalisation, cosine similarity) (run with Debian's /usr/bin/python3 + python3-torch).

Writes small JSON fixtures to ../test/fixtures/: inputs, outputs and gradients computed by PyTorch
in float64 (inputs are first rounded to float32, as the GPU sees them). The TypeScript tests read
them; CI never needs Python.

    /usr/bin/python3 packages/kernels/scripts/golden_cross_entropy_adamw_lora_reduce.py
"""
import json
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1234)


def f32(t):
    """Round to float32 and back to float64: the exact values the GPU sees."""
    return t.to(torch.float32).to(torch.float64)


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def no_nan(x):
    """JSON has no NaN: write null (torch's mean over zero rows is 0/0)."""
    if isinstance(x, float) and x != x:
        return None
    if isinstance(x, list):
        return [no_nan(v) for v in x]
    if isinstance(x, dict):
        return {k: no_nan(v) for k, v in x.items()}
    return x


def dump(name, obj):
    obj["torch_version"] = torch.__version__
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(no_nan(obj), f, separators=(",", ":"), allow_nan=False)
    print("wrote", name)


# ---------------------------------------------------------------- cross-entropy (+ weights, ignore)
def ce_case(N, V, weighted, n_ignored, scale=3.0):
    logits = f32(torch.randn(N, V, dtype=torch.float64) * scale).requires_grad_(True)
    targets = torch.randint(0, V, (N,))
    targets[torch.randperm(N)[:n_ignored]] = -100
    weight = f32(torch.rand(V, dtype=torch.float64) + 0.25) if weighted else None
    mean = F.cross_entropy(logits, targets, weight=weight, ignore_index=-100, reduction="mean")
    mean.backward()
    per_row = F.cross_entropy(logits.detach(), targets, weight=weight, ignore_index=-100, reduction="none")
    keep = targets != -100
    normalizer = float(weight[targets[keep]].sum()) if weighted else float(keep.sum())
    return {
        "N": N, "V": V, "logits": flat(logits), "targets": targets.tolist(),
        "classWeights": flat(weight) if weighted else None, "normalizer": normalizer,
        "losses": flat(per_row), "mean": float(mean), "dlogits": flat(logits.grad),
    }


# ---------------------------------------------------------------- focal loss, written out
def focal_case(N, V, gamma, with_alpha, n_ignored):
    logits = f32(torch.randn(N, V, dtype=torch.float64) * 2.5).requires_grad_(True)
    targets = torch.randint(0, V, (N,))
    targets[torch.randperm(N)[:n_ignored]] = -100
    alpha = f32(torch.rand(V, dtype=torch.float64) * 0.9 + 0.05) if with_alpha else None
    keep = targets != -100
    logp = F.log_softmax(logits, dim=-1)
    t = targets.clamp(min=0)
    logpt = logp.gather(1, t[:, None])[:, 0]
    pt = logpt.exp()
    a_t = alpha[t] if with_alpha else torch.ones_like(pt)
    fl = -a_t * (1 - pt) ** gamma * logpt          # FL = -α_t (1 - p_t)^γ log p_t
    fl = torch.where(keep, fl, torch.zeros_like(fl))
    normalizer = float(keep.sum())
    mean = fl.sum() / normalizer
    mean.backward()
    return {
        "N": N, "V": V, "gamma": gamma, "logits": flat(logits), "targets": targets.tolist(),
        "focalAlpha": flat(alpha) if with_alpha else None, "normalizer": normalizer,
        "losses": flat(fl), "mean": float(mean), "dlogits": flat(logits.grad),
    }


dump("softmax_cross_entropy_torch.json", {"cases": [
    ce_case(7, 5, False, 2),
    ce_case(13, 31, True, 3),
    ce_case(1, 3, False, 0),
    ce_case(4, 6, True, 4),   # every row ignored: torch's mean is nan (0/0); losses and grads are 0
    ce_case(9, 257, True, 1, scale=6.0),
], "focal": [
    focal_case(8, 4, 2.0, True, 2),
    focal_case(11, 7, 0.5, False, 1),
    focal_case(5, 3, 1.0, True, 0),
    focal_case(6, 9, 0.0, False, 0),
]})


# ---------------------------------------------------------------- AdamW, 5 steps
def adamw_case():
    sizes = [37, 20, 64, 9]
    params = [f32(torch.randn(n, dtype=torch.float64)).to(torch.float32).requires_grad_(True) for n in sizes]
    wds = [0.01, 0.0, 0.1, 0.05]
    lr_scales = [1.0, 0.5, 1.0, 2.0]
    frozen = 1   # params[1] is frozen: not in any range, never touched
    base_lr = 3e-3
    groups = [{"params": [p], "weight_decay": wds[i], "lr": base_lr * lr_scales[i]} for i, p in enumerate(params) if i != frozen]
    opt = torch.optim.AdamW(groups, lr=base_lr, betas=(0.9, 0.999), eps=1e-8, foreach=False)
    init = [flat(p) for p in params]
    steps = []
    gen = torch.Generator().manual_seed(7)
    for step in range(1, 6):
        grads = [torch.randn(n, generator=gen, dtype=torch.float32) * (0.1 * step) for n in sizes]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        lr_now = base_lr * (0.8 ** (step - 1))   # the schedule writes the lr each step
        for gi, g in enumerate(opt.param_groups):
            idx = [i for i in range(len(sizes)) if i != frozen][gi]
            g["lr"] = lr_now * lr_scales[idx]
        opt.step()
        steps.append({"lr": lr_now, "grads": [flat(g) for g in grads], "params": [flat(p) for p in params]})
    return {"sizes": sizes, "weightDecay": wds, "lrScale": lr_scales, "frozen": frozen,
            "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "init": init, "steps": steps}


def clip_case():
    sizes = [50, 13]
    g = [torch.randn(n, dtype=torch.float32) * 3 for n in sizes]
    ps = [torch.zeros(n, dtype=torch.float32, requires_grad=True) for n in sizes]
    for p, gg in zip(ps, g):
        p.grad = gg.clone()
    total = torch.nn.utils.clip_grad_norm_(ps, max_norm=1.5)
    return {"sizes": sizes, "grads": [flat(x) for x in g], "maxNorm": 1.5, "totalNorm": float(total),
            "clipped": [flat(p.grad) for p in ps]}


dump("adamw_torch.json", {"adamw": adamw_case(), "clip": clip_case()})


# ---------------------------------------------------------------- LoRA (PEFT layout)
def lora_case(M, N, K, r, alpha, with_bias):
    x = f32(torch.randn(M, K, dtype=torch.float64)).requires_grad_(True)
    W = f32(torch.randn(N, K, dtype=torch.float64) / K ** 0.5)
    b = f32(torch.randn(N, dtype=torch.float64)) if with_bias else None
    A = f32(torch.randn(r, K, dtype=torch.float64) / K ** 0.5).requires_grad_(True)
    B = f32(torch.randn(N, r, dtype=torch.float64) * 0.3).requires_grad_(True)
    scale = alpha / r
    y = F.linear(x, W, b) + scale * F.linear(F.linear(x, A), B)
    dy = f32(torch.randn(M, N, dtype=torch.float64))
    y.backward(dy)
    merged = W + scale * (B @ A)
    return {"M": M, "N": N, "K": K, "r": r, "scale": scale, "x": flat(x), "W": flat(W),
            "bias": flat(b) if with_bias else None, "A": flat(A), "B": flat(B), "y": flat(y), "dy": flat(dy),
            "dx": flat(x.grad), "dA": flat(A.grad), "dB": flat(B.grad), "merged": flat(merged)}


dump("lora_torch.json", {"cases": [lora_case(5, 7, 9, 2, 4.0, True), lora_case(17, 12, 33, 8, 8.0, False), lora_case(1, 3, 4, 1, 1.0, True)]})


# ---------------------------------------------------------------- mean pooling + normalize + cosine
def reduce_case(B, T, C, scale):
    x = f32(torch.randn(B, T, C, dtype=torch.float64)).requires_grad_(True)
    lengths = torch.randint(1, T + 1, (B,))
    lengths[0] = T
    mask = (torch.arange(T)[None, :] < lengths[:, None]).to(torch.int64)
    if B > 2:
        mask[2] = 0   # a fully padded row: sentence-transformers' clamp(min=1e-9) gives a zero vector
    m = mask[..., None].to(torch.float64)
    pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
    pooled.retain_grad()
    y = F.normalize(pooled, p=2, dim=1, eps=1e-12)
    y.retain_grad()
    half = B // 2 if B > 1 else 1
    a, b = y[:half], y[half:] if B > 1 else y
    S = a @ b.T
    S.retain_grad()
    n = min(a.shape[0], b.shape[0])
    targets = torch.arange(a.shape[0])
    targets[n:] = -100
    loss = F.cross_entropy(scale * S, targets, ignore_index=-100)
    loss.backward()
    return {"B": B, "T": T, "C": C, "scale": scale, "half": half, "x": flat(x), "mask": flat(mask),
            "pooled": flat(pooled), "normalized": flat(y), "S": flat(S), "loss": float(loss),
            "dS": flat(S.grad), "dnormalized": flat(y.grad), "dpooled": flat(pooled.grad), "dx": flat(x.grad)}


dump("reduce_torch.json", {"cases": [reduce_case(6, 5, 8, 20.0), reduce_case(4, 3, 5, 1.0), reduce_case(2, 1, 3, 20.0)]})
