#!/usr/bin/env python3
"""Golden fixture for @tunebench/eval: many random cases scored by scikit-learn, scipy and numpy.

Run with Debian's interpreter (apt-get install python3-sklearn python3-scipy):
    /usr/bin/python3 packages/eval/scripts/make-fixture.py
It writes packages/eval/test/fixtures/sklearn-scipy.json, which test/sklearn-fixture.test.ts
compares against, so the tests never need Python. Seeded: the same library versions give the
same file.
"""
import json
import math
import os
import warnings

import numpy as np
import scipy
import scipy.stats as ss
import sklearn
from sklearn import metrics as M
from sklearn.preprocessing import label_binarize

warnings.filterwarnings("ignore")  # zero_division / no-positive warnings are part of what we test
rng = np.random.default_rng(20261128)
OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "sklearn-scipy.json")


def fl(a):
    return [float(v) for v in np.ravel(a)]


def classification_cases(n_cases):
    cases = []
    for c in range(n_cases):
        k = int(rng.integers(2, 6))
        n = int(rng.integers(1, 40))
        # skewed class frequencies so some classes are rare or absent
        p = rng.dirichlet(np.ones(k) * 0.7)
        y_true = rng.choice(k, size=n, p=p)
        noise = rng.random()
        y_pred = np.where(rng.random(n) < noise, rng.choice(k, size=n), y_true)
        as_str = c % 7 == 3
        labels = None
        if c % 5 == 1:  # explicit label list including classes absent from the data
            labels = sorted(set(range(k)) | set(y_true.tolist()) | set(y_pred.tolist()))
        yt = [f"c{v}" for v in y_true] if as_str else [int(v) for v in y_true]
        yp = [f"c{v}" for v in y_pred] if as_str else [int(v) for v in y_pred]
        lab = None if labels is None else ([f"c{v}" for v in labels] if as_str else labels)
        zd = int(c % 3 == 2)
        case = {"yTrue": yt, "yPred": yp, "labels": lab, "zeroDivision": zd}
        used = lab if lab is not None else sorted(set(yt) | set(yp))
        P, R, F, S = M.precision_recall_fscore_support(yt, yp, labels=used, average=None, zero_division=zd)
        case["labelsUsed"] = used
        case["perClass"] = {"precision": fl(P), "recall": fl(R), "f1": fl(F), "support": [int(s) for s in S]}
        for avg in ["macro", "micro", "weighted"]:
            p_, r_, f_, _ = M.precision_recall_fscore_support(yt, yp, labels=used, average=avg, zero_division=zd)
            case[avg] = {"precision": float(p_), "recall": float(r_), "f1": float(f_)}
        present = sorted(set(yt) | set(yp))
        if not as_str and len(present) <= 2 and (len(present) < 2 or 1 in present):
            p_, r_, f_, _ = M.precision_recall_fscore_support(yt, yp, average="binary", pos_label=1, zero_division=zd)
            case["binary"] = {"precision": float(p_), "recall": float(r_), "f1": float(f_)}
        case["accuracy"] = float(M.accuracy_score(yt, yp))
        case["mcc"] = float(M.matthews_corrcoef(yt, yp))
        case["confusion"] = M.confusion_matrix(yt, yp, labels=used).tolist()
        cases.append(case)
    return cases


def binary_score_cases(n_cases):
    cases = []
    for c in range(n_cases):
        n = int(rng.integers(2, 60))
        y = rng.integers(0, 2, size=n)
        if c % 9 == 0:
            y[:] = 0  # no positives: AP only
        elif y.min() == y.max():
            y[0] = 1 - y[0]
        s = rng.normal(size=n) + y * rng.random() * 2
        if c % 2 == 0:
            s = np.round(s, 1)  # many ties
        case = {"yTrue": [int(v) for v in y], "scores": fl(s), "ap": float(M.average_precision_score(y, s))}
        if y.min() != y.max():
            case["rocAuc"] = float(M.roc_auc_score(y, s))
        cases.append(case)
    return cases


def multiclass_score_cases(n_cases):
    cases = []
    for c in range(n_cases):
        k = int(rng.integers(3, 6))
        n = int(rng.integers(k + 2, 50))
        y = np.concatenate([np.arange(k), rng.integers(0, k, size=n - k)])
        rng.shuffle(y)
        # probabilities from small integer counts: frequent ties, rows summing to 1
        counts = rng.integers(0, 4, size=(n, k)) + np.eye(k, dtype=int)[y] * int(rng.integers(0, 4))
        counts[counts.sum(1) == 0, 0] = 1
        probs = counts / counts.sum(1, keepdims=True)
        case = {"yTrue": [int(v) for v in y], "probs": [fl(r) for r in probs]}
        case["rocAucMacro"] = float(M.roc_auc_score(y, probs, multi_class="ovr", average="macro"))
        case["rocAucWeighted"] = float(M.roc_auc_score(y, probs, multi_class="ovr", average="weighted"))
        Y = label_binarize(y, classes=list(range(k)))
        case["apMacro"] = float(M.average_precision_score(Y, probs, average="macro"))
        case["apWeighted"] = float(M.average_precision_score(Y, probs, average="weighted"))
        cases.append(case)
    return cases


def mwu_cases(n_cases):
    cases = []
    for c in range(n_cases):
        n1 = int(rng.integers(1, 16))
        n2 = int(rng.integers(1, 16))
        if c % 4 == 0:
            n1, n2 = int(rng.integers(1, 9)), int(rng.integers(9, 60))
        x = rng.normal(size=n1)
        y = rng.normal(size=n2) + rng.random() * 1.5
        if c % 3 == 1:
            x, y = np.round(x, 0), np.round(y, 0)  # ties
        for alt in ["two-sided", "less", "greater"]:
            r = ss.mannwhitneyu(x, y, alternative=alt)
            cases.append({"x": fl(x), "y": fl(y), "alternative": alt, "method": "auto", "useContinuity": True,
                          "statistic": float(r.statistic), "pValue": float(r.pvalue)})
        if c % 5 == 0:
            r = ss.mannwhitneyu(x, y, method="asymptotic", use_continuity=False)
            cases.append({"x": fl(x), "y": fl(y), "alternative": "two-sided", "method": "asymptotic", "useContinuity": False,
                          "statistic": float(r.statistic), "pValue": float(r.pvalue)})
        if c % 5 == 2 and len(set(fl(x)) | set(fl(y))) == n1 + n2 and n1 * n2 <= 400:
            r = ss.mannwhitneyu(x, y, method="exact")
            cases.append({"x": fl(x), "y": fl(y), "alternative": "two-sided", "method": "exact", "useContinuity": True,
                          "statistic": float(r.statistic), "pValue": float(r.pvalue)})
    return cases


def ndcg_cases(n_cases):
    cases = []
    for c in range(n_cases):
        q = int(rng.integers(1, 5))
        d = int(rng.integers(2, 30))
        scores = rng.random(size=(q, d))  # continuous: no ties (sklearn averages over tied orders)
        rel = np.zeros((q, d))
        for i in range(q):
            m = int(rng.integers(1, min(d, 6) + 1))
            idx = rng.choice(d, size=m, replace=False)
            rel[i, idx] = rng.integers(1, 4, size=m) if c % 2 else 1
        k = int(rng.integers(1, 12))
        cases.append({"scores": [fl(r) for r in scores],
                      "relevant": [[[int(j), float(rel[i, j])] for j in np.nonzero(rel[i])[0]] for i in range(q)],
                      "k": k, "ndcg": float(M.ndcg_score(rel, scores, k=k)),
                      "ndcg10": float(M.ndcg_score(rel, scores, k=10))})
    return cases


def logloss_cases(n_cases):
    cases = []
    for c in range(n_cases):
        n = int(rng.integers(1, 20))
        v = int(rng.integers(2, 12))
        logits = rng.normal(size=(n, v)) * 3
        labels = rng.integers(0, v, size=n)
        ignore = rng.random(n) < 0.3
        ignore[0] = False
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        keep = ~ignore
        ce = float(M.log_loss(labels[keep], p[keep], labels=list(range(v))))
        lab = np.where(ignore, -100, labels)
        cases.append({"logits": fl(logits), "vocab": v, "labels": [int(x) for x in lab], "crossEntropy": ce,
                      "accuracy": float(np.mean(p[keep].argmax(1) == labels[keep]))})
    return cases


def misc():
    pct = []
    for c in range(30):
        a = np.sort(rng.normal(size=int(rng.integers(1, 30))))
        q = float(rng.random())
        pct.append({"sorted": fl(a), "q": q, "value": float(np.percentile(a, q * 100))})
    ranks = []
    for c in range(20):
        a = np.round(rng.normal(size=int(rng.integers(1, 25))), 0)
        ranks.append({"values": fl(a), "ranks": fl(ss.rankdata(a))})
    std = []
    for c in range(20):
        a = rng.normal(size=int(rng.integers(2, 12))) * 10
        std.append({"values": fl(a), "mean": float(np.mean(a)), "std1": float(np.std(a, ddof=1)), "std0": float(np.std(a))})
    erfc = [{"x": float(x), "erfc": math.erfc(x)} for x in np.concatenate([np.linspace(-5, 26, 125), [0.0, 1e-8, 1.999999, 2.0, 2.000001]])]
    return {"percentile": pct, "rankdata": ranks, "meanStd": std, "erfc": erfc}


fixture = {
    "generatedBy": "packages/eval/scripts/make-fixture.py",
    "versions": {"sklearn": sklearn.__version__, "scipy": scipy.__version__, "numpy": np.__version__},
    "classification": classification_cases(150),
    "binaryScores": binary_score_cases(80),
    "multiclassScores": multiclass_score_cases(40),
    "mannWhitney": mwu_cases(60),
    "ndcg": ndcg_cases(40),
    "mlm": logloss_cases(20),
    **misc(),
}
with open(OUT, "w") as f:
    json.dump(fixture, f, separators=(",", ":"))
print("wrote", os.path.normpath(OUT), os.path.getsize(OUT), "bytes")
