#!/usr/bin/env python3
"""Checks the JSON `fergen judge --json FILE` writes: the keys a reader looks for, and that its numbers agree with
each other (the CAS ratio is the synthetic-trained accuracy over the real-trained one, each class's ratio the ratio
of its recalls, recalls are the confusions' diagonals over their row sums, the per-class test frames add up).

usage: check_judge_json.py FILE PROTOCOL CLASSES
  PROTOCOL: random, loso or held-out; CLASSES: the expected class names, comma-separated
Prints "judge JSON ok: ..." when everything holds; exits 1 naming the first thing that does not.
"""
import json
import math
import sys


def fail(message):
    print(f"judge JSON bad: {message}")
    sys.exit(1)


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def main():
    path, protocol, classes = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    with open(path, encoding="utf-8") as f:
        j = json.load(f)
    for key in ["schema", "fergen_version", "protocol", "protocol_description", "classes", "real", "synthetic", "test",
                "classifier", "real_trained", "synthetic_trained", "cas", "folds", "quality", "warnings"]:
        if key not in j:
            fail(f"no key '{key}'")
    if j["schema"] != "fergen-judge/1":
        fail(f"schema {j['schema']!r}")
    if j["protocol"] != protocol:
        fail(f"protocol {j['protocol']!r}, expected {protocol!r}")
    if j["classes"] != classes:
        fail(f"classes {j['classes']}, expected {classes}")
    k = len(classes)
    tested = j["test"]["images"]
    for side in ("real_trained", "synthetic_trained"):
        s = j[side]
        for key in ("classifiers", "train_images", "test_images", "accuracy", "uf1", "uar", "recall", "confusion"):
            if key not in s:
                fail(f"{side}: no key '{key}'")
        confusion = s["confusion"]
        if len(confusion) != k or any(len(row) != k for row in confusion):
            fail(f"{side}: the confusion matrix is not {k} x {k}")
        if sum(map(sum, confusion)) != tested or s["test_images"] != tested:
            fail(f"{side}: {sum(map(sum, confusion))} frames in the confusion, {tested} tested")
        if not close(s["accuracy"], sum(confusion[i][i] for i in range(k)) / tested):
            fail(f"{side}: accuracy {s['accuracy']} is not the confusion's")
        for i, row in enumerate(confusion):
            expected = row[i] / sum(row) if sum(row) else None
            got = s["recall"][i]
            if (expected is None) != (got is None) or (expected is not None and not close(got, expected)):
                fail(f"{side}: recall of {classes[i]} is {got}, the confusion gives {expected}")
    real, synthetic = j["real_trained"], j["synthetic_trained"]
    if real["confusion"] and [sum(r) for r in real["confusion"]] != [sum(r) for r in synthetic["confusion"]]:
        fail("the two classifiers were not tested on the same frames")
    cas = j["cas"]
    if real["accuracy"] > 0 and not close(cas["ratio"], synthetic["accuracy"] / real["accuracy"]):
        fail(f"CAS ratio {cas['ratio']} is not {synthetic['accuracy']} / {real['accuracy']}")
    if len(cas["per_class"]) != k:
        fail(f"{len(cas['per_class'])} per-class CAS entries for {k} classes")
    for i, c in enumerate(cas["per_class"]):
        if c["class"] != classes[i] or c["test_images"] != sum(real["confusion"][i]):
            fail(f"per-class CAS entry {i}: {c}")
        r, s = c["real_trained_recall"], c["synthetic_trained_recall"]
        if r and not close(c["ratio"], s / r):
            fail(f"per-class CAS of {classes[i]}: {c['ratio']} is not {s} / {r}")
    q = j["quality"]
    for key in ("against", "feature_space", "memorization_space", "all", "per_class"):
        if key not in q:
            fail(f"quality: no key '{key}'")
    if "penultimate features" not in q["feature_space"]:
        fail(f"quality: the feature space is not stated: {q['feature_space']!r}")
    if q["all"]["class"] != "all" or len(q["per_class"]) != k:
        fail("quality: not one row overall and one per class")
    if not isinstance(q["all"]["fid"], float) or not isinstance(q["all"]["memorization_rate"], float):
        fail("quality: no FID or memorisation overall")
    if protocol == "loso" and not j["folds"]:
        fail("loso without folds")
    print(f"judge JSON ok: {path}: protocol {protocol}, {tested} test frames, CAS ratio {cas['ratio']}")


if __name__ == "__main__":
    main()
