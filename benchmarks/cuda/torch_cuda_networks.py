"""The PyTorch side of benchmarks/cuda/bench_cuda_networks: the same whole-network workloads on the same GPU, timed
the same way (fp32, no AMP, TF32 off; cudnn.benchmark at PyTorch's default, off).

Reads one workload per line on stdin and prints "time S" per workload: the median seconds per run (two warm-up
runs, at least three timed ones, about argv[1] seconds), or for generation the wall time of the whole job after
one warm-up batch. Other lines are information for the log.

  resnet50_train BATCH SIZE CLASSES   torchvision's ResNet-50 (or the same network written below when torchvision
                                      is missing): forward, cross-entropy, backward, SGD with momentum
  unet_train BATCH                    the study UNet (tests/reference/unet_torch.py, layer for layer fergen's):
                                      forward, MSE, backward, AdamW
  unet_trainer_step BATCH             as fergen's diffusion::trainer::step: timesteps, label dropout, noise,
                                      q_sample, forward, MSE, backward, clipping to norm 1, AdamW, EMA
  ddim IMAGES BATCH STEPS ETA         DDIM (trailing spacing, epsilon prediction, clip to [-1, 1]) from pure
                                      noise, images to 8-bit levels on the host, batch after batch
"""
import math
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
import unet_torch  # noqa: E402

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
# FERGEN_TORCH_DEVICE=cpu runs the same code on the CPU: a smoke test of this script where there is no GPU.
device = torch.device(os.environ.get("FERGEN_TORCH_DEVICE", "cuda"))
torch.manual_seed(0)
CLASSES = 7
print("torch", torch.__version__, "on", torch.cuda.get_device_name(0) if device.type == "cuda" else "the CPU",
      flush=True)


def synchronize():
    if device.type == "cuda":
        torch.cuda.synchronize()


def device_timestep_embedding(t, dim, max_period=10000.0):
    """unet_torch's embedding with its frequencies on the timesteps' device (the reference builds them on the CPU)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float64, device=t.device) / half)
    args = t.to(torch.float64)[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


unet_torch.timestep_embedding = device_timestep_embedding


def timed(fn):
    fn()
    fn()
    synchronize()
    samples, start = [], time.perf_counter()
    while len(samples) < 3 or (time.perf_counter() - start < seconds and len(samples) < 100):
        t = time.perf_counter()
        fn()
        synchronize()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def resnet50(classes):
    try:
        import torchvision
        return torchvision.models.resnet50(num_classes=classes)
    except ImportError:
        pass
    print("torchvision missing: ResNet-50 written here", flush=True)
    nn = torch.nn

    class Bottleneck(nn.Module):
        def __init__(self, cin, width, stride):
            super().__init__()
            cout = 4 * width
            self.conv1, self.bn1 = nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)
            self.conv2, self.bn2 = nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)
            self.conv3, self.bn3 = nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            h = torch.relu(self.bn1(self.conv1(x)))
            h = torch.relu(self.bn2(self.conv2(h)))
            h = self.bn3(self.conv3(h))
            return torch.relu(h + (x if self.downsample is None else self.downsample(x)))

    layers, cin = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)], 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for b in range(blocks):
            layers.append(Bottleneck(cin, width, stride if b == 0 else 1))
            cin = 4 * width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, classes)]
    return nn.Sequential(*layers)


def resnet50_train(batch, size, classes):
    net = resnet50(classes).to(device).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x = torch.rand(batch, 3, size, size, device=device)
    y = torch.arange(batch, device=device) % classes
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        opt.step()
    return step


def study_unet():
    return unet_torch.UNet(image_channels=1, image_size=48, base_channels=64, channel_mult=(1, 2, 2), res_blocks=2,
                           attention_resolutions=(12,), middle_attention=True, heads=1, groups=8, dropout=0.1,
                           classes=CLASSES).to(device)


def unet_inputs(batch):
    x = torch.rand(batch, 1, 48, 48, device=device) * 2 - 1
    t = (torch.arange(batch, device=device) * 397 % 1000).double()
    y = torch.arange(batch, device=device) % CLASSES
    return x, t, y


def unet_train(batch):
    model = study_unet().train()
    print("unet parameters", sum(p.numel() for p in model.parameters()), flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4, weight_decay=0.0)
    x, t, y = unet_inputs(batch)
    target = torch.rand_like(x) * 2 - 1

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x, t, y), target).backward()
        opt.step()
    return step


def linear_alpha_bar(T=1000):
    betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
    return torch.cumprod(1 - betas, 0)


def unet_trainer_step(batch):
    model = study_unet().train()
    params = list(model.parameters())
    ema = [p.detach().clone() for p in params]
    opt = torch.optim.AdamW(params, lr=2e-4, weight_decay=0.0)
    x0, _, labels = unet_inputs(batch)
    abar = linear_alpha_bar().to(device)
    null = CLASSES

    def step():
        t = torch.randint(0, 1000, (batch,), device=device)
        y = torch.where(torch.rand(batch, device=device) < 0.1, torch.full_like(labels, null), labels)
        noise = torch.randn_like(x0)
        a = abar[t].float()[:, None, None, None]
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x_t, t.double(), y), noise).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            torch._foreach_mul_(ema, 0.9999)  # (foreach lerp is newer than some PyTorch builds)
            torch._foreach_add_(ema, [p.detach() for p in params], alpha=1 - 0.9999)
    return step


def trailing_timesteps(T, steps):
    return [int(round(T - i * T / steps)) - 1 for i in range(steps)]


def ddim_job(images, batch, steps, eta):
    """The whole generation job: a closure that runs it once, and a warm-up batch of two steps."""
    model = study_unet().eval()
    abar = linear_alpha_bar()
    ts = trailing_timesteps(1000, steps)
    counts = [2780, 1632, 1845, 3120, 1760, 2187, 2140] if images == 15464 else \
        [images // CLASSES + (1 if k < images % CLASSES else 0) for k in range(CLASSES)]
    job = [k for k, c in enumerate(counts) for _ in range(c)]

    @torch.no_grad()
    def run_batch(labels, step_list):
        n = len(labels)
        y = torch.tensor(labels, device=device)
        x = torch.randn(n, 1, 48, 48, device=device)
        for i, t in enumerate(step_list):
            prev = step_list[i + 1] if i + 1 < len(step_list) else -1
            a_t = float(abar[t])
            a_prev = float(abar[prev]) if prev >= 0 else 1.0
            eps = model(x, torch.full((n,), float(t), dtype=torch.float64, device=device), y)
            x0 = ((x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)).clamp_(-1, 1)
            eps = (x - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)  # the noise of the clipped x0, as fergen's step
            sigma = eta * math.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
            x = math.sqrt(a_prev) * x0 + math.sqrt(max(1 - a_prev - sigma * sigma, 0.0)) * eps
            if sigma > 0:
                x = x + sigma * torch.randn_like(x)
        return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()

    def run():
        for first in range(0, len(job), batch):
            run_batch(job[first:first + batch], ts)

    def warm_up():
        run_batch(job[:batch], ts[:2])
    return run, warm_up


for line in sys.stdin:
    fields = line.split()
    if not fields:
        continue
    kind, args = fields[0], fields[1:]
    if kind == "ddim":
        run, warm_up = ddim_job(int(args[0]), int(args[1]), int(args[2]), float(args[3]))
        warm_up()
        synchronize()
        start = time.perf_counter()
        run()
        synchronize()
        elapsed = time.perf_counter() - start
    else:
        builder = {"resnet50_train": resnet50_train, "unet_train": unet_train, "unet_trainer_step": unet_trainer_step}
        elapsed = timed(builder[kind](*map(int, args)))
    print("time", elapsed, flush=True)
    if device.type == "cuda":
        torch.cuda.empty_cache()
