#!/usr/bin/python3
"""PyTorch goldens for the matmul family: general matmul (transposes, batch, alpha, bias,
accumulate) and the linear layer forward + backward (Hugging Face weight layout (out, in)).
Run with Debian's /usr/bin/python3 + python3-torch:

    /usr/bin/python3 packages/kernels/scripts/golden_matmul.py

Writes ../test/fixtures/matmul_torch.json. Inputs are drawn in float64, rounded to float32 (the
exact values the GPU sees), and everything is computed by PyTorch in float64 from those; the
gradients come from autograd (linear) with a random upstream gradient `dout`. Tests read the
fixture; CI never needs Python.
"""
import json
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1234)
D = torch.float64


def f32(t):
    """Round to float32 and back to float64: the exact values the GPU sees."""
    return t.to(torch.float32).to(D)


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def matmul_case(M, N, K, transA, transB, batch, alpha, with_bias, accumulate):
    # a stored (K, M) when transA, else (M, K); b stored (N, K) when transB, else (K, N).
    a = f32(torch.randn(batch, *((K, M) if transA else (M, K)), dtype=D))
    b = f32(torch.randn(batch, *((N, K) if transB else (K, N)), dtype=D))
    bias = f32(torch.randn(N, dtype=D)) if with_bias else None
    old = f32(torch.randn(batch, M, N, dtype=D)) if accumulate else None
    opa = a.transpose(1, 2) if transA else a
    opb = b.transpose(1, 2) if transB else b
    out = alpha * torch.bmm(opa, opb)
    if bias is not None:
        out = out + bias
    if old is not None:
        out = out + old
    return {
        "M": M, "N": N, "K": K, "transA": transA, "transB": transB, "batch": batch,
        "alpha": alpha, "accumulate": accumulate,
        "a": flat(a), "b": flat(b), "bias": flat(bias) if bias is not None else None,
        "old": flat(old) if old is not None else None, "out": flat(out),
    }


def linear_case(M, N, K):
    inp = f32(torch.randn(M, K, dtype=D)).requires_grad_(True)
    weight = f32(torch.randn(N, K, dtype=D) / K ** 0.5).requires_grad_(True)
    bias = f32(torch.randn(N, dtype=D)).requires_grad_(True)
    out = F.linear(inp, weight, bias)
    dout = f32(torch.randn(M, N, dtype=D))
    out.backward(dout)
    return {
        "M": M, "N": N, "K": K,
        "inp": flat(inp), "weight": flat(weight), "bias": flat(bias), "out": flat(out),
        "dout": flat(dout), "dinp": flat(inp.grad), "dweight": flat(weight.grad), "dbias": flat(bias.grad),
    }


cases = {
    "matmul": [
        matmul_case(5, 7, 3, False, False, 1, 1.0, True, False),
        matmul_case(17, 33, 19, True, False, 1, 0.5, False, True),
        matmul_case(17, 33, 19, False, True, 1, 1.0, True, False),
        matmul_case(9, 70, 13, True, True, 1, -2.0, False, True),
        # attention-like: batch of heads, scores = q·kᵀ / sqrt(HS)
        matmul_case(12, 12, 8, False, True, 3, 8 ** -0.5, False, False),
    ],
    "linear": [linear_case(4, 6, 5), linear_case(33, 20, 17), linear_case(40, 24, 36)],
    "torch_version": torch.__version__,
    "generator": "packages/kernels/scripts/golden_matmul.py",
}
with open(os.path.join(OUT, "matmul_torch.json"), "w") as f:
    json.dump(cases, f, separators=(",", ":"), allow_nan=False)
print("wrote matmul_torch.json")
