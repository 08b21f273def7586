#!/usr/bin/python3
"""PyTorch golden for the distillation loss (src/distill_kl.ts): tau^2 * KL(softmax(t/tau) || softmax(s/tau))
per row, as F.kl_div(F.log_softmax(s / tau), F.softmax(t / tau), reduction='none').sum(-1) * tau**2,
rows with target -100 skipped, mean over the kept rows; the gradient w.r.t. the student logits by
autograd, times a loss weight; and the masked MSE of hidden-state distillation (src/masked_mse.ts) as
F.mse_loss over the rows a mask keeps (run with Debian's /usr/bin/python3 + python3-torch).

Inputs are rounded to float32 first (what the GPU sees); everything else is float64. Writes
../test/fixtures/distill_kl_torch.json and masked_mse_torch.json; the TypeScript tests read them, CI never
runs Python.

    /usr/bin/python3 packages/kernels/scripts/golden_distill_kl.py
"""
import json
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(2015)


def f32(t):
    return t.to(torch.float32).to(torch.float64)


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def kl_case(N, C, tau, weight, n_ignored, scale=3.0):
    student = f32(torch.randn(N, C, dtype=torch.float64) * scale).requires_grad_(True)
    teacher = f32(torch.randn(N, C, dtype=torch.float64) * scale)
    targets = torch.randint(0, C, (N,))
    targets[torch.randperm(N)[:n_ignored]] = -100
    keep = targets != -100
    per_row = F.kl_div(F.log_softmax(student / tau, dim=-1), F.softmax(teacher / tau, dim=-1), reduction="none").sum(-1) * tau**2
    per_row = torch.where(keep, per_row, torch.zeros_like(per_row))
    normalizer = float(keep.sum())
    loss = weight * per_row.sum() / normalizer
    loss.backward()
    return {
        "N": N, "C": C, "temperature": tau, "weight": weight, "student": flat(student), "teacher": flat(teacher),
        "targets": targets.tolist(), "normalizer": normalizer, "losses": flat(per_row), "mean": float(per_row.sum() / normalizer),
        "dstudent": flat(student.grad),
    }


cases = [
    kl_case(5, 3, 1.0, 1.0, 0),
    kl_case(17, 7, 2.0, 0.5, 4),
    kl_case(40, 10, 4.0, 0.9, 9),
    kl_case(9, 129, 3.0, 1.0, 2, scale=5.0),
    kl_case(8, 2, 0.5, 1.0, 1),
]
obj = {"cases": cases, "torch_version": torch.__version__}
with open(os.path.join(OUT, "distill_kl_torch.json"), "w") as f:
    json.dump(obj, f, separators=(",", ":"), allow_nan=False)
print("wrote distill_kl_torch.json")


# ---------------------------------------------------------------- masked MSE (hidden-state distillation)
def mse_case(M, D, n_pad, weight):
    pred = f32(torch.randn(M, D, dtype=torch.float64) * 2).requires_grad_(True)
    target = f32(torch.randn(M, D, dtype=torch.float64) * 2)
    mask = torch.ones(M, dtype=torch.int64)
    mask[torch.randperm(M)[:n_pad]] = 0
    keep = mask != 0
    loss = weight * F.mse_loss(pred[keep], target[keep], reduction="mean")
    loss.backward()
    per_row = ((pred - target) ** 2).sum(-1) * keep
    return {
        "M": M, "D": D, "weight": weight, "pred": flat(pred), "target": flat(target), "mask": mask.tolist(),
        "normalizer": float(keep.sum()) * D, "losses": flat(per_row), "dpred": flat(pred.grad),
    }


mse = [mse_case(6, 5, 2, 1.0), mse_case(13, 16, 4, 0.3), mse_case(4, 33, 0, 2.0)]
with open(os.path.join(OUT, "masked_mse_torch.json"), "w") as f:
    json.dump({"cases": mse, "torch_version": torch.__version__}, f, separators=(",", ":"), allow_nan=False)
print("wrote masked_mse_torch.json")
