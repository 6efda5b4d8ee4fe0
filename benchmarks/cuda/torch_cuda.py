"""The PyTorch side of benchmarks/cuda/bench_cuda: the same workloads on the same GPU, timed the same way.

Reads one workload per line on stdin (its kind, then integers), prints one line per workload: the median seconds
per run. argv[1]: seconds per measurement; argv[2] == "tf32" allows TF32 (off otherwise, as fergen's default).
fp32 throughout, no AMP; cudnn.benchmark stays at PyTorch's default (off), as fergen uses cuDNN's heuristics.

A workload kind is a key of BUILDERS: a function of the line's integers that allocates the tensors and returns
the function to time. Whole networks (ResNet-50 training, UNet training, DDIM sampling) are added here with the
same kinds as bench_cuda.cu's add_network_workloads.
"""
import statistics
import sys
import time

import torch

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
tf32 = len(sys.argv) > 2 and sys.argv[2] == "tf32"
torch.backends.cuda.matmul.allow_tf32 = tf32
torch.backends.cudnn.allow_tf32 = tf32
device = torch.device("cuda")


def timed(fn):
    """Median seconds per run after two warm-up runs, the GPU synchronised around each run."""
    fn()
    fn()
    torch.cuda.synchronize()
    samples, start = [], time.perf_counter()
    while len(samples) < 3 or (time.perf_counter() - start < seconds and len(samples) < 200):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def rand(*shape, grad=False):
    return (torch.rand(*shape, device=device) * 2 - 1).requires_grad_(grad)


def gemm(m, n, k):
    a, b = rand(m, k), rand(k, n)
    return lambda: torch.mm(a, b)


def layer_step(module, x):
    """Forward and backward of one module, as fergen's layer.forward + layer.backward."""
    module = module.to(device)
    y = module(x)
    dy = torch.rand_like(y)

    def step():
        x.grad = None
        for p in module.parameters():
            p.grad = None
        module(x).backward(dy)
    return step


def conv(n, c, h, w, oc, kh, kw, sh, sw, ph, pw):
    return layer_step(torch.nn.Conv2d(c, oc, (kh, kw), (sh, sw), (ph, pw), bias=False), rand(n, c, h, w, grad=True))


def adam(parameters):
    p = torch.nn.Parameter(rand(parameters))
    p.grad = rand(parameters)
    opt = torch.optim.Adam([p], lr=1e-3)  # PyTorch's default implementation for CUDA tensors
    return opt.step


BUILDERS = {
    "gemm": gemm,
    "conv": conv,
    "batch_norm": lambda n, c, h, w: layer_step(torch.nn.BatchNorm2d(c), rand(n, c, h, w, grad=True)),
    "group_norm": lambda n, c, h, w, g: layer_step(torch.nn.GroupNorm(g, c), rand(n, c, h, w, grad=True)),
    "relu": lambda n, c, h, w: layer_step(torch.nn.ReLU(), rand(n, c, h, w, grad=True)),
    "silu": lambda n, c, h, w: layer_step(torch.nn.SiLU(), rand(n, c, h, w, grad=True)),
    "max_pool": lambda n, c, h, w: layer_step(torch.nn.MaxPool2d(3, 2, 1), rand(n, c, h, w, grad=True)),
    "adaptive_avg_pool": lambda n, c, h, w: layer_step(torch.nn.AdaptiveAvgPool2d(1), rand(n, c, h, w, grad=True)),
    "upsample": lambda n, c, h, w: layer_step(torch.nn.Upsample(scale_factor=2, mode="nearest"),
                                              rand(n, c, h, w, grad=True)),
    "linear": lambda n, i, o: layer_step(torch.nn.Linear(i, o), rand(n, i, grad=True)),
    "adam": adam,
}

for line in sys.stdin:
    fields = line.split()
    if not fields:
        continue
    run = BUILDERS[fields[0]](*map(int, fields[1:]))
    print(timed(run), flush=True)
    del run
    torch.cuda.empty_cache()
