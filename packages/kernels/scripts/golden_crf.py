#!/usr/bin/python3
"""PyTorch golden for the linear-chain CRF (src/crf.ts): log partition, NLL, gradients (autograd)
and Viterbi, in float64 (run with Debian's /usr/bin/python3 + python3-torch).

torch has no CRF, so the textbook forward algorithm is written here with torch.logsumexp over
padded, masked batches of different lengths, with and without a BIO constraint mask (forbidden
entries are -inf). Gradients come from autograd of sum(NLL) / normalizer; Viterbi is the textbook
max-product recursion with back-pointers. Inputs are rounded to float32 first (what the GPU sees).
Writes ../test/fixtures/crf_torch.json; the TypeScript test reads it, CI never runs Python.

    /usr/bin/python3 packages/kernels/scripts/golden_crf.py
"""
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(4321)
NEG_INF = float("-inf")


def f32(t):
    return t.to(torch.float32).to(torch.float64)


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def bio_allowed(labels):
    """Packed (K + 2, K) mask: rows 0..K-1 transitions i -> j, row K start, row K+1 end."""
    K = len(labels)
    allowed = torch.ones(K + 2, K, dtype=torch.int64)
    for j, lj in enumerate(labels):
        if not lj.startswith("I-"):
            continue
        x = lj[2:]
        allowed[K, j] = 0
        for i, li in enumerate(labels):
            if li[2:] != x or li == "O":
                allowed[i, j] = 0
    return allowed


def sample_path(L, K, allowed, gen):
    """A random gold path that respects the mask."""
    y = []
    for t in range(L):
        row = allowed[K] if t == 0 else allowed[y[-1]]
        ok = [k for k in range(K) if row[k] and (t < L - 1 or allowed[K + 1, k])]
        y.append(ok[int(torch.randint(0, len(ok), (1,), generator=gen))])
    return y


def crf_case(B, T, K, labels=None, scale=2.0):
    gen = torch.Generator().manual_seed(B * 1000 + T * 10 + K)
    allowed = bio_allowed(labels) if labels else torch.ones(K + 2, K, dtype=torch.int64)
    lengths = [int(x) for x in torch.randint(0, T + 1, (B,), generator=gen)]
    lengths[0] = T  # at least one full-length sequence
    emissions = f32(torch.randn(B, T, K, dtype=torch.float64, generator=gen) * scale).requires_grad_(True)
    crf = f32(torch.randn(K + 2, K, dtype=torch.float64, generator=gen)).requires_grad_(True)
    tags = torch.zeros(B, T, dtype=torch.int64)
    for b in range(B):
        tags[b, : lengths[b]] = torch.tensor(sample_path(lengths[b], K, allowed, gen), dtype=torch.int64)
    masked = crf.masked_fill(allowed == 0, NEG_INF)
    trans, start, end = masked[:K], masked[K], masked[K + 1]

    log_z, gold = [], []
    for b in range(B):
        L = lengths[b]
        if L == 0:
            log_z.append(torch.zeros((), dtype=torch.float64))
            gold.append(torch.zeros((), dtype=torch.float64))
            continue
        alpha = start + emissions[b, 0]
        for t in range(1, L):
            alpha = torch.logsumexp(alpha[:, None] + trans, dim=0) + emissions[b, t]
        log_z.append(torch.logsumexp(alpha + end, dim=0))
        y = tags[b, :L]
        s = start[y[0]] + emissions[b, torch.arange(L), y].sum() + trans[y[:-1], y[1:]].sum() + end[y[-1]]
        gold.append(s)
    log_z = torch.stack(log_z)
    gold = torch.stack(gold)
    losses = log_z - gold
    normalizer = float(sum(lengths))
    (losses.sum() / normalizer).backward()

    # Viterbi (ties: lowest index, as torch.max returns the first maximum)
    path = torch.full((B, T), -1, dtype=torch.int64)
    vscore = torch.zeros(B, dtype=torch.float64)
    with torch.no_grad():
        for b in range(B):
            L = lengths[b]
            if L == 0:
                continue
            d = start + emissions[b, 0]
            back = []
            for t in range(1, L):
                v = d[:, None] + trans
                best, arg = v.max(dim=0)
                back.append(arg)
                d = best + emissions[b, t]
            best, last = (d + end).max(dim=0)
            vscore[b] = best
            y = [int(last)]
            for arg in reversed(back):
                y.append(int(arg[y[-1]]))
            path[b, :L] = torch.tensor(list(reversed(y)))
    return {
        "B": B, "T": T, "K": K, "labels": labels, "lengths": lengths,
        "emissions": flat(emissions), "crf": flat(crf), "tags": flat(tags),
        "allowed": flat(allowed) if labels else None, "normalizer": normalizer,
        "logZ": flat(log_z), "losses": flat(losses),
        "demissions": flat(emissions.grad), "dcrf": flat(crf.grad),
        "path": flat(path), "viterbiScore": flat(vscore),
    }


cases = [
    crf_case(4, 6, 3),
    crf_case(5, 9, 5, labels=["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]),
    crf_case(3, 12, 7, labels=["O", "B-A", "I-A", "B-B", "I-B", "B-C", "I-C"]),
    crf_case(2, 1, 4),
]
with open(os.path.join(OUT, "crf_torch.json"), "w") as f:
    json.dump({"torch_version": torch.__version__, "cases": cases}, f, separators=(",", ":"))
print("wrote crf_torch.json")
