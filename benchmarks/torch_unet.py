"""The PyTorch side of benchmarks/bench_unet: the same UNet (tests/reference/unet_torch.py, layer for layer fergen's),
timed the same way. It stays up and answers one request per line of stdin, one number per line of stdout:
"params" -> the parameter count; "train SECONDS" / "denoise SECONDS" -> median seconds per training step (forward,
MSE loss, backward, AdamW step) / per denoising step (forward without gradients, then the DDIM update) over about
SECONDS, after two warm-up calls on the first request of each. bench_unet alternates rounds of its own measurement
with these requests. It ends when stdin closes.
Usage: torch_unet.py THREADS BATCH SIZE BASE MULT RES_BLOCKS GROUPS CLASSES"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from unet_torch import UNet  # noqa: E402
from torch_timing import timed  # noqa: E402  (benchmarks/, the script's own folder)

threads, batch, size, base = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
mult = tuple(int(m) for m in sys.argv[5].split(","))
res_blocks, groups, classes = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
torch.set_num_threads(threads)
torch.manual_seed(0)

model = UNet(image_channels=1, image_size=size, base_channels=base, channel_mult=mult, res_blocks=res_blocks,
             groups=groups, classes=classes)
x = torch.randn(batch, 1, size, size)
target = torch.randn(batch, 1, size, size)
t = torch.randint(0, 1000, (batch,)).double()
y = torch.randint(0, classes, (batch,)) if classes else None
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)


def train_step():
    model.train()
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.mse_loss(model(x, t, y), target)
    loss.backward()
    opt.step()


t_same = torch.full((batch,), 500.0, dtype=torch.float64)
xt = x.clone()


def denoise_step():
    global xt
    model.eval()
    with torch.no_grad():
        out = model(xt, t_same, y)
        xt = 1.0001 * xt - 0.01 * out
        xt.clamp_(-3, 3)


steps, warmed = {"train": train_step, "denoise": denoise_step}, set()
for line in iter(sys.stdin.readline, ""):
    request = line.split()
    if request == ["params"]:
        print(sum(p.numel() for p in model.parameters()), flush=True)
    elif len(request) == 2 and request[0] in steps:
        name, seconds = request[0], float(request[1])
        print(timed(steps[name], seconds, 0 if name in warmed else 2), flush=True)
        warmed.add(name)
    else:
        sys.exit(f"torch_unet.py: unknown request {line.strip()!r}")
