"""The PyTorch side of benchmarks/bench_core: the same sgemm sizes and convolutions, timed the same way.

Reads the work list as lines on stdin ("gemm M N K" / "conv N C H W OC KH KW SH SW PH PW"), prints one line
per item: the median seconds per run. Runs with the thread count given as argv[1] (the C++ side uses the same).
"""
import sys

import torch

import torch_timing  # benchmarks/, the script's own folder

torch.set_num_threads(int(sys.argv[1]))
min_seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0


def timed(fn):
    return torch_timing.timed(fn, min_seconds, warmups=2, max_calls=50)


for line in sys.stdin:
    f = line.split()
    if not f:
        continue
    if f[0] == "gemm":
        m, n, k = map(int, f[1:])
        a, b = torch.randn(m, k), torch.randn(k, n)
        print(timed(lambda: torch.mm(a, b)), flush=True)
    elif f[0] == "conv":
        n, c, h, w, oc, kh, kw, sh, sw, ph, pw = map(int, f[1:])
        x = torch.randn(n, c, h, w, requires_grad=True)
        conv = torch.nn.Conv2d(c, oc, (kh, kw), (sh, sw), (ph, pw), bias=False)
        y = conv(x)
        dy = torch.randn_like(y)

        def step():
            x.grad = None
            conv.weight.grad = None
            conv(x).backward(dy)
        print(timed(step), flush=True)
