"""The PyTorch side of benchmarks/bench_unet: the same UNet (tests/reference/unet_torch.py, layer for layer fergen's),
timed the same way. Prints "params N", then "train S" and "denoise S": median seconds per training step (forward,
MSE loss, backward, AdamW step) and per denoising step (forward without gradients, then the DDIM update).
Usage: torch_unet.py THREADS SECONDS BATCH SIZE BASE MULT RES_BLOCKS GROUPS CLASSES"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from unet_torch import UNet  # noqa: E402

threads, seconds, batch, size, base = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
mult = tuple(int(m) for m in sys.argv[6].split(","))
res_blocks, groups, classes = int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
torch.set_num_threads(threads)
torch.manual_seed(0)


def timed(fn):
    fn()
    fn()
    samples, start = [], time.perf_counter()
    while len(samples) < 3 or (time.perf_counter() - start < seconds and len(samples) < 50):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


model = UNet(image_channels=1, image_size=size, base_channels=base, channel_mult=mult, res_blocks=res_blocks,
             groups=groups, classes=classes)
print("params", sum(p.numel() for p in model.parameters()), flush=True)
x = torch.randn(batch, 1, size, size)
target = torch.randn(batch, 1, size, size)
t = torch.randint(0, 1000, (batch,)).double()
y = torch.randint(0, classes, (batch,)) if classes else None
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)


def train_step():
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.mse_loss(model(x, t, y), target)
    loss.backward()
    opt.step()


print("train", timed(train_step), flush=True)
model.eval()
t_same = torch.full((batch,), 500.0, dtype=torch.float64)


def denoise_step():
    global x
    with torch.no_grad():
        out = model(x, t_same, y)
        x = 1.0001 * x - 0.01 * out
        x.clamp_(-3, 3)


print("denoise", timed(denoise_step), flush=True)
