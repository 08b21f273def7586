#!/usr/bin/python3
# Reference values for packages/eval/src/resampling.ts from imbalanced-learn (Debian's
# python3-imblearn 0.10, scikit-learn 1.2, numpy 1.24). Run with Debian's python (not a venv):
#   /usr/bin/python3 packages/eval/scripts/make-imblearn-fixture.py > packages/eval/test/fixtures/imblearn.json
# SMOTE: the minority neighbour lists (deterministic) and imbalanced-learn's synthetic points (its
# numpy draws differ from ours: the test checks them by property). Tomek links: the kept indices.
import json
import sys

import imblearn
import numpy as np
import sklearn
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import TomekLinks

rng = np.random.default_rng(20261207)


def blobs(sizes, dim, spread):
    X, y = [], []
    for c, n in enumerate(sizes):
        centre = rng.normal(0, 1.5, dim)
        X.append(centre + rng.normal(0, spread, (n, dim)))
        y += [c] * n
    return np.round(np.vstack(X), 6), np.array(y)


smote_cases = []
for case in range(8):
    dim = [2, 3, 5][case % 3]
    k = [5, 3][case % 2]
    sizes = [int(rng.integers(25, 45)), int(rng.integers(k + 2, 14))] + ([int(rng.integers(15, 30))] if case % 4 == 3 else [])
    X, y = blobs(sizes, dim, 1.0)
    target = 1
    n_major = max(np.bincount(y))
    sm = SMOTE(sampling_strategy={target: int(n_major)}, k_neighbors=k, random_state=case)
    Xr, yr = sm.fit_resample(X, y)
    minority = np.flatnonzero(y == target)
    nn = sm.nn_k_.kneighbors(X[minority], return_distance=False)[:, 1:]
    smote_cases.append({
        'X': X.tolist(), 'y': y.tolist(), 'k': k, 'targetClass': target,
        'nSamples': int(n_major - len(minority)),
        'neighbors': [[int(minority[j]) for j in row] for row in nn],
        'minority': minority.tolist(),
        'synthetic': Xr[len(X):].tolist(),
    })

tomek_cases = []
for case in range(10):
    dim = [2, 4][case % 2]
    sizes = [int(rng.integers(20, 40)), int(rng.integers(5, 15))] + ([int(rng.integers(10, 20))] if case % 3 == 2 else [])
    X, y = blobs(sizes, dim, 1.3)
    tl = TomekLinks(sampling_strategy='auto')
    tl.fit_resample(X, y)
    tomek_cases.append({'X': X.tolist(), 'y': y.tolist(), 'kept': tl.sample_indices_.tolist()})

json.dump({
    'generatedBy': 'packages/eval/scripts/make-imblearn-fixture.py',
    'versions': {'imblearn': imblearn.__version__, 'sklearn': sklearn.__version__, 'numpy': np.__version__},
    'smote': smote_cases,
    'tomek': tomek_cases,
}, sys.stdout)
sys.stdout.write('\n')
