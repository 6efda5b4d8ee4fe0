"""Reference batch and group normalisation from PyTorch for tests/nn/test_batch_norm2d.cpp and test_group_norm.cpp.

Writes <out>/<case>.npz and lists the cases in <out>/index.txt (batch norm cases start with "bn_", group norm
cases with "gn_"). Inputs are float32 values, used as they are in float32 and widened to float64.

Batch norm (torch.nn.BatchNorm2d), per case: options eps, momentum (NaN for None), affine, track; inputs x1,
x2, x3 (three successive training batches), x_eval, weight, bias, upstream gradients dy and dy_eval; and for
tag in 32, 64: y<tag>, dx<tag>, dw<tag>, db<tag> (training forward on x1, backward of dy), running_mean<tag>,
running_var<tag>, num_batches_tracked<tag> after the forwards on x1, x2, x3, then y_eval<tag>, dx_eval<tag>,
dw_eval<tag>, db_eval<tag> (evaluation forward on x_eval, backward of dy_eval, gradients of that pass alone).

Group norm (torch.nn.GroupNorm), per case: groups, eps, affine, x, weight, bias, dy; y<tag>, dx<tag>, dw<tag>,
db<tag>.

Every case also has ill_conditioned: 1 where the inputs' mean is large against their spread (the *_large_mean
cases). There float32 rounding of the mean alone moves PyTorch's own float32 results up to ~3e-5 (relative to
the largest value) from its float64 ones, so the tests compare fergen's float32 results with the float64
results (the exact answer for these float32 inputs) instead.
"""
import math
import os
import sys

import numpy as np
import torch

torch.manual_seed(0)
torch.set_num_threads(1)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)

DTYPES = ((torch.float32, "32"), (torch.float64, "64"))

# name, (N, C, H, W), eps, momentum, affine, track_running_stats, input scale, input offset
BATCH_NORM = [
    ("bn_resnet", (8, 64, 10, 10), 1e-5, 0.1, True, True, 1.0, 0.0),
    ("bn_inception_eps", (4, 32, 7, 9), 1e-3, 0.1, True, True, 2.0, 0.5),
    ("bn_cumulative", (6, 16, 5, 5), 1e-5, None, True, True, 1.5, -1.0),
    ("bn_linear_features", (4, 2048, 1, 1), 1e-5, 0.1, True, True, 1.0, 0.0),
    ("bn_linear_cumulative_eps", (3, 24, 1, 1), 1e-3, None, True, True, 0.5, 3.0),
    ("bn_no_affine", (5, 8, 4, 4), 1e-5, 0.1, False, True, 1.0, 2.0),
    ("bn_untracked", (4, 12, 6, 3), 1e-5, 0.1, True, False, 1.0, 0.0),
    ("bn_large_mean", (2, 6, 9, 11), 1e-5, 0.3, True, True, 0.1, 50.0),
]

# name, (N, C, H, W), groups, eps, affine, input scale, input offset
GROUP_NORM = [
    ("gn_unet_32_8", (4, 32, 8, 8), 8, 1e-5, True, 1.0, 0.0),
    ("gn_unet_64_32", (8, 64, 10, 10), 32, 1e-5, True, 2.0, 1.0),
    ("gn_groups_1", (3, 12, 5, 5), 1, 1e-5, True, 1.0, -0.5),
    ("gn_groups_c", (2, 16, 6, 6), 16, 1e-3, True, 1.0, 0.0),
    ("gn_no_affine", (2, 12, 4, 4), 3, 1e-5, False, 1.5, 0.0),
    ("gn_1x1", (4, 64, 1, 1), 16, 1e-5, True, 1.0, 0.0),
    ("gn_large_mean", (2, 8, 7, 7), 2, 1e-3, True, 0.1, 30.0),
]


def batch_norm_case(name, shape, eps, momentum, affine, track, scale, offset):
    n, c, h, w = shape
    xs = [torch.randn(*shape) * scale + offset for _ in range(4)]
    weight = torch.randn(c) * 0.5 + 1.0
    bias = torch.randn(c) * 0.5
    dy = torch.randn(*shape)
    dy_eval = torch.randn(*shape)
    arrays = {
        "eps": np.array(eps, dtype=np.float64),
        "momentum": np.array(math.nan if momentum is None else momentum, dtype=np.float64),
        "affine": np.array(int(affine), dtype=np.int64),
        "track": np.array(int(track), dtype=np.int64),
        "ill_conditioned": np.array(int(abs(offset) > 10 * scale), dtype=np.int64),
        "x1": xs[0].numpy(), "x2": xs[1].numpy(), "x3": xs[2].numpy(), "x_eval": xs[3].numpy(),
        "weight": weight.numpy(), "bias": bias.numpy(), "dy": dy.numpy(), "dy_eval": dy_eval.numpy(),
    }
    for dtype, tag in DTYPES:
        bn = torch.nn.BatchNorm2d(c, eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
        bn = bn.to(dtype)
        if affine:
            with torch.no_grad():
                bn.weight.copy_(weight.to(dtype))
                bn.bias.copy_(bias.to(dtype))
        bn.train()
        x1 = xs[0].to(dtype).clone().requires_grad_()
        y = bn(x1)
        y.backward(dy.to(dtype))
        arrays["y" + tag] = y.detach().numpy()
        arrays["dx" + tag] = x1.grad.numpy()
        arrays["dw" + tag] = bn.weight.grad.numpy().copy() if affine else np.zeros(c, dtype=arrays["x1"].dtype)
        arrays["db" + tag] = bn.bias.grad.numpy().copy() if affine else np.zeros(c, dtype=arrays["x1"].dtype)
        with torch.no_grad():
            bn(xs[1].to(dtype))
            bn(xs[2].to(dtype))
        if track:
            arrays["running_mean" + tag] = bn.running_mean.numpy().copy()
            arrays["running_var" + tag] = bn.running_var.numpy().copy()
            arrays["num_batches_tracked" + tag] = bn.num_batches_tracked.numpy().copy()
        bn.eval()
        bn.zero_grad()
        x_eval = xs[3].to(dtype).clone().requires_grad_()
        y_eval = bn(x_eval)
        y_eval.backward(dy_eval.to(dtype))
        arrays["y_eval" + tag] = y_eval.detach().numpy()
        arrays["dx_eval" + tag] = x_eval.grad.numpy()
        arrays["dw_eval" + tag] = bn.weight.grad.numpy() if affine else np.zeros(c, dtype=arrays["x1"].dtype)
        arrays["db_eval" + tag] = bn.bias.grad.numpy() if affine else np.zeros(c, dtype=arrays["x1"].dtype)
    return arrays


def group_norm_case(name, shape, groups, eps, affine, scale, offset):
    n, c, h, w = shape
    x = torch.randn(*shape) * scale + offset
    weight = torch.randn(c) * 0.5 + 1.0
    bias = torch.randn(c) * 0.5
    dy = torch.randn(*shape)
    arrays = {
        "groups": np.array(groups, dtype=np.int64),
        "eps": np.array(eps, dtype=np.float64),
        "affine": np.array(int(affine), dtype=np.int64),
        "ill_conditioned": np.array(int(abs(offset) > 10 * scale), dtype=np.int64),
        "x": x.numpy(), "weight": weight.numpy(), "bias": bias.numpy(), "dy": dy.numpy(),
    }
    for dtype, tag in DTYPES:
        gn = torch.nn.GroupNorm(groups, c, eps=eps, affine=affine).to(dtype)
        if affine:
            with torch.no_grad():
                gn.weight.copy_(weight.to(dtype))
                gn.bias.copy_(bias.to(dtype))
        xx = x.to(dtype).clone().requires_grad_()
        y = gn(xx)
        y.backward(dy.to(dtype))
        arrays["y" + tag] = y.detach().numpy()
        arrays["dx" + tag] = xx.grad.numpy()
        arrays["dw" + tag] = gn.weight.grad.numpy() if affine else np.zeros(c, dtype=arrays["x"].dtype)
        arrays["db" + tag] = gn.bias.grad.numpy() if affine else np.zeros(c, dtype=arrays["x"].dtype)
    return arrays


index = []
for case in BATCH_NORM:
    np.savez(os.path.join(out, case[0] + ".npz"), **batch_norm_case(*case))
    index.append(case[0])
for case in GROUP_NORM:
    np.savez(os.path.join(out, case[0] + ".npz"), **group_norm_case(*case))
    index.append(case[0])

with open(os.path.join(out, "index.txt"), "w") as f:
    f.write("\n".join(index) + "\n")
