"""Classification metrics computed from their definitions with numpy (no sklearn), for
tests/eval/test_classification_metrics.cpp. Conventions (fergen/eval/classification_metrics.hpp): a ratio with a
zero denominator is 0; UF1 and UAR average over the classes present in the truth."""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)


def metrics(truth, pred, k):
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (truth, pred), 1)
    tp = np.diag(confusion).astype(float)
    fp = confusion.sum(axis=0) - tp
    fn = confusion.sum(axis=1) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    present = confusion.sum(axis=1) > 0
    return dict(confusion=confusion, precision=precision, recall=recall, f1=f1,
                accuracy=np.array(tp.sum() / len(truth)), uf1=np.array(f1[present].mean()),
                uar=np.array(recall[present].mean()))


cases = {}
k = 7
truth = rng.integers(0, k, 300)
pred = np.where(rng.random(300) < 0.6, truth, rng.integers(0, k, 300))
cases["random7"] = (truth, pred, k)
truth = rng.integers(0, 5, 120)  # classes 5 and 6 absent from the truth; 6 is predicted
pred = np.where(rng.random(120) < 0.5, truth, rng.integers(0, 7, 120))
cases["absent_classes"] = (truth, pred, 7)
truth = rng.integers(0, 4, 50)
cases["one_prediction"] = (truth, np.full(50, 2), 4)  # a majority-class predictor
imbalanced = np.repeat(np.arange(7), [2360, 150, 1729, 4204, 127, 2187, 6367]) // 1  # CASME II's class sizes
cases["casme_sizes"] = (imbalanced, np.where(rng.random(len(imbalanced)) < 0.9, imbalanced, 6), 7)

for name, (truth, pred, k) in cases.items():
    m = metrics(truth, pred, k)
    np.savez(os.path.join(out, name + ".npz"), truth=truth.astype(np.int64), pred=pred.astype(np.int64),
             classes=np.array(k), **m)
with open(os.path.join(out, "index.txt"), "w") as f:
    f.write("\n".join(cases) + "\n")
