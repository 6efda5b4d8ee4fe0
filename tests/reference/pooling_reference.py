"""Reference pooling and nearest upsampling from PyTorch for tests/nn/test_pooling.cpp and
tests/nn/test_upsample_nearest.cpp.

Writes <out>/<case>.npz with the input x and the upstream gradient dy (float32 values), PyTorch's results in
float32 (y32, dx32) and float64 (y64, dx64), and the layer's arguments in `args`:
  max_*, avg_*    [kh, kw, sh, sw, ph, pw, ceil_mode, count_include_pad]
  adaptive_*      [out_h, out_w]
  upsample_*      [scale]
Cases named *_ties have inputs with exact ties (all-equal planes, an all -inf plane, small integers, NaNs):
there the gradient shows which of the equal maxima PyTorch picks. <out>/index.txt lists the cases.
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

# name, (N, C, H, W), kernel, stride, padding, ceil_mode, count_include_pad
POOLS = [
    ("max_resnet_stem_3x3_s2_p1", (2, 8, 40, 40), (3, 3), (2, 2), (1, 1), False, True),
    ("max_resnet_stem_odd", (2, 8, 17, 17), (3, 3), (2, 2), (1, 1), False, True),
    ("max_inception_3x3_s2", (2, 8, 17, 17), (3, 3), (2, 2), (0, 0), False, True),
    ("max_vgg_2x2_s2", (2, 8, 40, 40), (2, 2), (2, 2), (0, 0), False, True),
    ("max_vgg_2x2_s2_odd", (1, 3, 11, 9), (2, 2), (2, 2), (0, 0), False, True),
    ("max_ceil_3x3_s2", (1, 3, 11, 9), (3, 3), (2, 2), (0, 0), True, True),
    ("max_ceil_2x2_s2", (1, 3, 11, 9), (2, 2), (2, 2), (0, 0), True, True),
    ("max_ceil_padded_3x3_s2_p1", (1, 3, 11, 9), (3, 3), (2, 2), (1, 1), True, True),
    # H: (11 + 2 - 2 + 2) / 3 + 1 = 5 in ceil mode, cut to 4 because the fifth window would start in the
    # right padding.
    ("max_ceil_asymmetric_cut", (1, 3, 11, 9), (2, 3), (3, 2), (1, 1), True, True),
    ("avg_inception_3x3_s1_p1", (2, 8, 17, 17), (3, 3), (1, 1), (1, 1), False, True),
    ("avg_3x3_s1_p1_exclude_pad", (2, 8, 17, 17), (3, 3), (1, 1), (1, 1), False, False),
    ("avg_inception_aux_5x5_s3", (2, 8, 17, 17), (5, 5), (3, 3), (0, 0), False, True),
    ("avg_ceil_padded_3x3_s2_p1", (1, 3, 11, 9), (3, 3), (2, 2), (1, 1), True, True),
    ("avg_ceil_padded_3x3_s2_p1_exclude_pad", (1, 3, 11, 9), (3, 3), (2, 2), (1, 1), True, False),
    ("avg_ceil_2x2_s2", (1, 3, 11, 9), (2, 2), (2, 2), (0, 0), True, True),
    ("avg_ceil_2x2_s2_exclude_pad", (1, 3, 11, 9), (2, 2), (2, 2), (0, 0), True, False),
    ("avg_ceil_asymmetric_cut", (1, 3, 11, 9), (2, 3), (3, 2), (1, 1), True, True),
    ("avg_ceil_asymmetric_cut_exclude_pad", (1, 3, 11, 9), (2, 3), (3, 2), (1, 1), True, False),
    ("avg_2x2_s2", (2, 8, 40, 40), (2, 2), (2, 2), (0, 0), False, True),
]

# name, (N, C, H, W), output size
ADAPTIVE = [
    ("adaptive_vgg_7x7_from_5x5", (2, 8, 5, 5), (7, 7)),
    ("adaptive_vgg_7x7_from_10x10", (2, 8, 10, 10), (7, 7)),
    ("adaptive_4x3_from_9x7", (1, 3, 9, 7), (4, 3)),
    ("adaptive_global_1x1", (2, 8, 17, 17), (1, 1)),
    ("adaptive_identity_7x7", (1, 3, 7, 7), (7, 7)),
    ("adaptive_5x2_from_3x11", (2, 3, 3, 11), (5, 2)),
]

# name, (N, C, H, W), scale
UPSAMPLE = [
    ("upsample_x2", (2, 8, 17, 17), 2),
    ("upsample_x2_unet", (2, 8, 12, 12), 2),
    ("upsample_x3", (1, 3, 11, 9), 3),
    ("upsample_x1", (1, 3, 5, 4), 1),
]


def tie_input():
    """Planes with exact ties: all equal, all -inf, small integers, integers with NaNs."""
    x = torch.empty(2, 4, 9, 8)
    x[:, 0] = 1.5
    x[:, 1] = -float("inf")
    x[:, 2] = torch.randint(0, 3, (2, 9, 8)).float()
    x[:, 3] = torch.randint(-1, 2, (2, 9, 8)).float()
    x[0, 3, 2, 3] = float("nan")
    x[0, 3, 2, 4] = float("nan")
    x[1, 3, 8, 7] = float("nan")
    return x


TIES = [
    ("max_ties_3x3_s2_p1", (3, 3), (2, 2), (1, 1), False),
    ("max_ties_3x3_s1_p1", (3, 3), (1, 1), (1, 1), False),
    ("max_ties_3x3_s2", (3, 3), (2, 2), (0, 0), False),
    ("max_ties_2x2_s2_ceil", (2, 2), (2, 2), (0, 0), True),
    ("max_ties_3x2_s2x1_p1x0_ceil", (3, 2), (2, 1), (1, 0), True),
]

index = []


def save(name, x, dy, args, function):
    arrays = {"x": x.numpy(), "dy": dy.numpy(), "args": np.array(args, dtype=np.int64)}
    for dtype, tag in ((torch.float32, "32"), (torch.float64, "64")):
        xx = x.detach().to(dtype).clone().requires_grad_()
        yy = function(xx)
        yy.backward(dy.to(dtype))
        arrays["y" + tag] = yy.detach().numpy()
        arrays["dx" + tag] = xx.grad.numpy()
    np.savez(os.path.join(out, name + ".npz"), **arrays)
    index.append(name)


def output_of(x, function):
    with torch.no_grad():
        return function(x)


for name, shape, k, s, p, ceil, include in POOLS:
    x = torch.randn(*shape)
    if name.startswith("max"):
        function = lambda t, k=k, s=s, p=p, ceil=ceil: F.max_pool2d(t, k, s, p, ceil_mode=ceil)
    else:
        function = lambda t, k=k, s=s, p=p, ceil=ceil, include=include: F.avg_pool2d(
            t, k, s, p, ceil_mode=ceil, count_include_pad=include)
    dy = torch.randn_like(output_of(x, function))
    save(name, x, dy, [*k, *s, *p, int(ceil), int(include)], function)

x_ties = tie_input()
for name, k, s, p, ceil in TIES:
    function = lambda t, k=k, s=s, p=p, ceil=ceil: F.max_pool2d(t, k, s, p, ceil_mode=ceil)
    dy = torch.randn_like(output_of(x_ties, function))
    save(name, x_ties, dy, [*k, *s, *p, int(ceil), 1], function)

for name, shape, size in ADAPTIVE:
    x = torch.randn(*shape)
    function = lambda t, size=size: F.adaptive_avg_pool2d(t, size)
    dy = torch.randn_like(output_of(x, function))
    save(name, x, dy, list(size), function)

for name, shape, scale in UPSAMPLE:
    x = torch.randn(*shape)
    function = lambda t, scale=scale: F.interpolate(t, scale_factor=scale, mode="nearest")
    dy = torch.randn_like(output_of(x, function))
    save(name, x, dy, [scale], function)

with open(os.path.join(out, "index.txt"), "w") as f:
    f.write("\n".join(index) + "\n")
