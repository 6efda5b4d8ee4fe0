"""Reference convolutions from PyTorch for tests/nn/test_conv2d.cpp.

Writes <out>/<case>.npz with the input x, weight w, bias b (float32 values), the upstream gradient dy, and
PyTorch's results in float32 (y32, dx32, dw32, db32) and float64 (y64, dx64, dw64, db64), plus the
geometry [kh, kw, sh, sw, ph, pw, dh, dw]; <out>/index.txt lists the cases.
The shapes are the kernel/stride/padding configurations of torchvision's ResNet-50 and Inception-V3.
"""
import os
import sys

import numpy as np
import torch

torch.manual_seed(0)
torch.set_num_threads(1)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)

# name, (N, C, H, W), out_channels, kernel, stride, padding, dilation, bias
CASES = [
    ("resnet_conv1_7x7_s2", (2, 3, 40, 40), 16, (7, 7), (2, 2), (3, 3), (1, 1), False),
    ("resnet_conv1_full_160", (1, 3, 160, 160), 64, (7, 7), (2, 2), (3, 3), (1, 1), False),
    ("resnet_1x1", (2, 32, 10, 10), 24, (1, 1), (1, 1), (0, 0), (1, 1), False),
    ("resnet_3x3", (2, 16, 10, 10), 16, (3, 3), (1, 1), (1, 1), (1, 1), False),
    ("resnet_3x3_s2", (2, 16, 10, 10), 16, (3, 3), (2, 2), (1, 1), (1, 1), False),
    ("resnet_downsample_1x1_s2", (2, 32, 10, 10), 64, (1, 1), (2, 2), (0, 0), (1, 1), False),
    ("resnet_layer1_3x3_40", (8, 64, 40, 40), 64, (3, 3), (1, 1), (1, 1), (1, 1), False),
    ("inception_1a_3x3_s2", (2, 3, 33, 33), 8, (3, 3), (2, 2), (0, 0), (1, 1), False),
    ("inception_3x3_p0", (2, 8, 11, 11), 8, (3, 3), (1, 1), (0, 0), (1, 1), False),
    ("inception_5x5_p2", (2, 6, 9, 9), 8, (5, 5), (1, 1), (2, 2), (1, 1), False),
    ("inception_1x7", (2, 8, 9, 9), 8, (1, 7), (1, 1), (0, 3), (1, 1), False),
    ("inception_7x1", (2, 8, 9, 9), 8, (7, 1), (1, 1), (3, 0), (1, 1), False),
    ("inception_1x3", (2, 8, 7, 7), 8, (1, 3), (1, 1), (0, 1), (1, 1), False),
    ("inception_3x1", (2, 8, 7, 7), 8, (3, 1), (1, 1), (1, 0), (1, 1), False),
    ("inception_3x3_s2_p0", (2, 8, 17, 17), 12, (3, 3), (2, 2), (0, 0), (1, 1), False),
    ("bias_3x3_dilated", (3, 5, 12, 11), 7, (3, 3), (1, 1), (2, 2), (2, 2), True),
    ("bias_1x1_batch1", (1, 20, 6, 6), 9, (1, 1), (1, 1), (0, 0), (1, 1), True),
    ("odd_stride_asymmetric", (2, 4, 13, 8), 5, (2, 3), (3, 2), (1, 0), (1, 1), True),
]

index = []
for name, (n, c, h, w), oc, k, s, p, d, bias in CASES:
    x = torch.randn(n, c, h, w)
    weight = torch.randn(oc, c, *k) / np.sqrt(c * k[0] * k[1])
    b = torch.randn(oc) if bias else torch.zeros(oc)
    conv = dict(stride=s, padding=p, dilation=d)
    y = torch.nn.functional.conv2d(x, weight, b if bias else None, **conv)
    dy = torch.randn_like(y)
    arrays = {"x": x.numpy(), "w": weight.numpy(), "b": b.numpy(), "dy": dy.numpy(),
              "geometry": np.array([*k, *s, *p, *d], dtype=np.int64),
              "has_bias": np.array(1 if bias else 0, dtype=np.int64)}
    for dtype, tag in ((torch.float32, "32"), (torch.float64, "64")):
        xx = x.detach().to(dtype).clone().requires_grad_()
        ww = weight.detach().to(dtype).clone().requires_grad_()
        bb = b.detach().to(dtype).clone().requires_grad_()
        yy = torch.nn.functional.conv2d(xx, ww, bb if bias else None, **conv)
        yy.backward(dy.to(dtype))
        arrays["y" + tag] = yy.detach().numpy()
        arrays["dx" + tag] = xx.grad.numpy()
        arrays["dw" + tag] = ww.grad.numpy()
        arrays["db" + tag] = bb.grad.numpy() if bias else np.zeros(oc, dtype=arrays["b"].dtype)
    np.savez(os.path.join(out, name + ".npz"), **arrays)
    index.append(name)

with open(os.path.join(out, "index.txt"), "w") as f:
    f.write("\n".join(index) + "\n")
