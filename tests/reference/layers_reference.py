"""Reference values from PyTorch for linear layers, activations and losses.

Writes <out>/<case>.npz and <out>/index.txt. Every array computed by torch in float32 and float64 carries
the suffix 32 or 64.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_num_threads(1)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
index = []


def save(name, **arrays):
    np.savez(os.path.join(out, name + ".npz"), **arrays)
    index.append(name)


def both(fn, *inputs):
    """fn on copies of inputs in float32 and float64; returns (outputs, input grads) per dtype."""
    results = {}
    for dtype, tag in ((torch.float32, "32"), (torch.float64, "64")):
        leaves = [i.detach().to(dtype).clone().requires_grad_() for i in inputs]
        results[tag] = (fn(*leaves), leaves)
    return results


# Linear layers: ResNet-50's head (2048 -> 7) and VGG's classifier shapes, reduced.
for name, n, fin, fout in (("linear_resnet_head", 8, 2048, 7), ("linear_small", 3, 5, 4), ("linear_vgg_fc", 2, 512, 64)):
    x, w, b = torch.randn(n, fin), torch.randn(fout, fin) / np.sqrt(fin), torch.randn(fout)
    dy = torch.randn(n, fout)
    arrays = {"x": x.numpy(), "w": w.numpy(), "b": b.numpy(), "dy": dy.numpy()}
    for tag, (y, (xx, ww, bb)) in both(lambda a, c, d: F.linear(a, c, d), x, w, b).items():
        y.backward(dy.to(y.dtype))
        arrays.update({"y" + tag: y.detach().numpy(), "dx" + tag: xx.grad.numpy(), "dw" + tag: ww.grad.numpy(),
                       "db" + tag: bb.grad.numpy()})
    save(name, **arrays)

# Activations over a range that includes large magnitudes (overflow paths of sigmoid/SiLU).
x = torch.cat([torch.linspace(-30, 30, 61), torch.randn(200) * 3])
dy = torch.randn_like(x)
for name, fn in (("relu", F.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("silu", F.silu),
                 ("gelu", F.gelu), ("gelu_tanh", lambda t: F.gelu(t, approximate="tanh"))):
    arrays = {"x": x.numpy(), "dy": dy.numpy()}
    for tag, (y, (xx,)) in both(fn, x).items():
        y.backward(dy.to(y.dtype))
        arrays.update({"y" + tag: y.detach().numpy(), "dx" + tag: xx.grad.numpy()})
    save("activation_" + name, **arrays)

# Cross-entropy with and without label smoothing; logits include a large-magnitude row.
logits = torch.randn(6, 7) * 3
logits[2] += 80
labels = torch.tensor([0, 6, 3, 3, 1, 5])
for smoothing in (0.0, 0.1):
    arrays = {"logits": logits.numpy(), "labels": labels.numpy(), "smoothing": np.array(smoothing)}
    for tag, (loss, (z,)) in both(lambda t: F.cross_entropy(t, labels, label_smoothing=smoothing), logits).items():
        loss.backward()
        arrays.update({"loss" + tag: loss.detach().numpy(), "dlogits" + tag: z.grad.numpy()})
    save("cross_entropy_smoothing_%g" % smoothing, **arrays)

# Mean squared error, plain and with per-sample weights (computed from the definition in torch).
pred, target = torch.randn(4, 3, 5, 5), torch.randn(4, 3, 5, 5)
weights = torch.tensor([1.0, 0.5, 2.0, 0.25], dtype=torch.float64)
arrays = {"prediction": pred.numpy(), "target": target.numpy(), "weights": weights.numpy()}
for tag, (loss, (p, t)) in both(lambda a, b: F.mse_loss(a, b), pred, target).items():
    loss.backward()
    arrays.update({"loss" + tag: loss.detach().numpy(), "dprediction" + tag: p.grad.numpy()})
for tag, (loss, (p, t)) in both(
        lambda a, b: (((a - b) ** 2).mean(dim=(1, 2, 3)) * weights.to(a.dtype)).mean(), pred, target).items():
    loss.backward()
    arrays.update({"weighted_loss" + tag: loss.detach().numpy(), "weighted_dprediction" + tag: p.grad.numpy()})
save("mse", **arrays)

with open(os.path.join(out, "index.txt"), "w") as f:
    f.write("\n".join(index) + "\n")
