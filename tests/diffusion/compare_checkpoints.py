"""Two train-diffusion checkpoints hold the same state: the same arrays (weights, EMA, optimiser moments and
steps, generator state, every meta entry), bit for bit. Usage: compare_checkpoints.py A.npz B.npz"""
import sys

import numpy as np

a, b = (np.load(path) for path in sys.argv[1:3])
if sorted(a.files) != sorted(b.files):
    sys.exit("different entries: %s" % sorted(set(a.files) ^ set(b.files)))
different = [k for k in a.files if a[k].dtype != b[k].dtype or a[k].tobytes() != b[k].tobytes()]
if different:
    sys.exit("%d of %d entries differ, e.g. %s" % (len(different), len(a.files), ", ".join(different[:5])))
print("identical: %d entries" % len(a.files))
