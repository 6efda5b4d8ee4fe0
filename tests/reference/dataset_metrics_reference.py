"""Reference dataset-quality metrics for tests/quality/test_dataset_metrics.cpp, computed independently:
FID by pytorch-fid's formula with scipy.linalg.sqrtm of the covariance product, KID by clean-fid's
polynomial-kernel MMD on the whole sets, manifold precision/recall and the memorisation ratio test by brute
force in numpy.

Writes <out>/<case>.npz holding the feature sets a, b (float64), clip ids of b as integers, a generated set
(a with five rows replaced by near-copies of rows of b), and the expected values; <out>/index.txt lists the cases.
"""
import os
import sys

import numpy as np
from scipy import linalg

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(2026)


def fid(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    covmean = covmean.real
    d = mu1 - mu2
    return d.dot(d) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def kid_whole(a, b):
    m = min(len(a), len(b))
    x, y = a[:m], b[:m]
    d = a.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.sum() / (m * m))


def sqdist(a, b):
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)


def precision_recall(real, fake, k=3):
    def radii(f):
        d = sqdist(f, f)
        np.fill_diagonal(d, np.inf)
        return np.sort(d, axis=1)[:, k - 1]
    rr, rf = radii(real), radii(fake)
    precision = (sqdist(fake, real) <= rr[None, :]).any(1).mean()
    recall = (sqdist(real, fake) <= rf[None, :]).any(1).mean()
    return precision, recall


def memorized(gen, train, clips):
    d = np.sqrt(sqdist(gen, train))
    first = d.argmin(1)
    second = np.array([d[i][clips != clips[first[i]]].min() for i in range(len(gen))])
    return (d[np.arange(len(gen)), first] < second / 3).astype(np.int64), first


cases = []
# name, rows a, rows b, dims
for name, na, nb, dim, shift in [("gaussians_16d", 300, 240, 16, 0.3), ("few_rows_32d", 60, 50, 32, 1.0),
                                 ("equal_sets_8d", 100, 100, 8, 0.0)]:
    base = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    a = rng.normal(size=(na, dim)) @ base
    b = rng.normal(size=(nb, dim)) @ (base + 0.2 * rng.normal(size=(dim, dim)) / np.sqrt(dim)) + shift
    if name == "equal_sets_8d":
        b = a.copy()
    # training "clips": 5 consecutive rows per clip
    clips = np.arange(nb) // 5
    # a few generated rows that copy a training row almost exactly
    gen = a.copy()
    gen[:5] = b[[0, 7, 13, 21, 40]] + 1e-3 * rng.normal(size=(5, dim))
    mem, nearest = memorized(gen, b, clips)
    p, r = precision_recall(a, b)
    arrays = dict(a=a, b=b, generated=gen, clips=clips.astype(np.int64), fid=np.array(fid(a, b)), kid=np.array(kid_whole(a, b)),
                  precision=np.array(p), recall=np.array(r), memorized=mem, nearest=nearest.astype(np.int64))
    np.savez(os.path.join(out, name + ".npz"), **arrays)
    cases.append(name)
with open(os.path.join(out, "index.txt"), "w") as f:
    f.write("\n".join(cases) + "\n")
