"""Reference optimiser trajectories, gradient clipping and learning-rate schedules from PyTorch for tests/optim.

Writes into <out>:
  problem.npz      the shared problem: initial parameters p<i> (float64; shapes (4,3,3,3), (4,), (5,4)) and
                   the gradient of parameter i at step k, g<k>_<i> (float64)
  <case>.npz       one optimiser run over the problem, listed in index.txt:
                     kind   0 = torch.optim.SGD, 1 = torch.optim.Adam, 2 = torch.optim.AdamW
                     hyper  SGD: [lr, momentum, dampening, weight_decay, nesterov]
                            Adam/AdamW: [lr, beta1, beta2, eps, weight_decay]
                     skip   [steps, params]: 1 where the parameter's grad is None at that step (fergen: frozen)
                     p<i>_64, p<i>_32   the parameter after 0, 1, ..., steps updates, shape (steps + 1, *shape),
                                        computed in float64 and in float32 (values stored as float64)
  clip.npz         torch.nn.utils.clip_grad_norm_ of the step-0 gradients for each max_norm[j]:
                     total_64[j], total_32[j]  the returned total norm
                     g<i>_64_<j>, g<i>_32_<j>   the clipped gradients
  schedules.npz    get_last_lr() after 0, 1, ..., n scheduler steps, base lr 0.1 (names in the script)
"""
import os
import sys
import warnings

import numpy as np
import torch
from torch.optim import lr_scheduler

warnings.simplefilter("ignore")  # SequentialLR's deprecated step(0) call
torch.set_num_threads(1)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)

SHAPES = [(4, 3, 3, 3), (4,), (5, 4)]
STEPS = 6
rng = np.random.default_rng(0)
P0 = [rng.standard_normal(s) for s in SHAPES]
G = [[rng.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]

problem = {f"p{i}": p for i, p in enumerate(P0)}
for k in range(STEPS):
    for i in range(len(SHAPES)):
        problem[f"g{k}_{i}"] = G[k][i]
np.savez(os.path.join(out, "problem.npz"), **problem)

NO_SKIP = np.zeros((STEPS, len(SHAPES)), dtype=np.int64)
# Parameter 1 sits out steps 2 and 3, parameter 2 every step: per-parameter state and step counts.
PARTWAY = NO_SKIP.copy()
PARTWAY[2:4, 1] = 1
PARTWAY[:, 2] = 1

SGD, ADAM, ADAMW = 0, 1, 2
# name, kind, hyper, skip
CASES = [
    ("sgd_plain", SGD, [0.1, 0, 0, 0, 0], NO_SKIP),
    ("sgd_momentum", SGD, [0.1, 0.9, 0, 0, 0], NO_SKIP),
    ("sgd_nesterov", SGD, [0.1, 0.9, 0, 0, 1], NO_SKIP),
    ("sgd_dampening", SGD, [0.1, 0.9, 0.1, 0, 0], NO_SKIP),
    ("sgd_weight_decay", SGD, [0.1, 0.9, 0, 1e-4, 0], NO_SKIP),
    ("sgd_plain_weight_decay", SGD, [0.05, 0, 0, 0.1, 0], NO_SKIP),
    ("sgd_nesterov_weight_decay", SGD, [0.1, 0.5, 0, 0.05, 1], NO_SKIP),
    ("sgd_momentum_partway", SGD, [0.1, 0.9, 0.2, 0.01, 0], PARTWAY),
    ("adam", ADAM, [1e-2, 0.9, 0.999, 1e-8, 0], NO_SKIP),
    ("adam_betas", ADAM, [3e-2, 0.8, 0.99, 1e-6, 0], NO_SKIP),
    ("adam_weight_decay", ADAM, [1e-2, 0.9, 0.999, 1e-8, 0.1], NO_SKIP),
    ("adamw", ADAMW, [1e-2, 0.9, 0.999, 1e-8, 0.1], NO_SKIP),
    ("adamw_partway", ADAMW, [1e-2, 0.9, 0.999, 1e-8, 0.1], PARTWAY),
    ("adam_partway", ADAM, [1e-2, 0.9, 0.999, 1e-8, 0.01], PARTWAY),
]


def make_optimizer(kind, hyper, params):
    if kind == SGD:
        lr, momentum, dampening, weight_decay, nesterov = hyper
        return torch.optim.SGD(params, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                               nesterov=bool(nesterov), foreach=False)
    lr, beta1, beta2, eps, weight_decay = hyper
    cls = torch.optim.Adam if kind == ADAM else torch.optim.AdamW
    return cls(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay, foreach=False)


def trajectory(kind, hyper, skip, dtype):
    params = [torch.nn.Parameter(torch.tensor(p, dtype=dtype)) for p in P0]
    opt = make_optimizer(kind, hyper, params)
    history = [[p.detach().clone()] for p in params]
    for k in range(STEPS):
        for i, p in enumerate(params):
            p.grad = None if skip[k, i] else torch.tensor(G[k][i], dtype=dtype)
        opt.step()
        for i, p in enumerate(params):
            history[i].append(p.detach().clone())
    return [torch.stack(h).to(torch.float64).numpy() for h in history]


index = []
for name, kind, hyper, skip in CASES:
    arrays = {"kind": np.array(kind, dtype=np.int64), "hyper": np.array(hyper, dtype=np.float64), "skip": skip}
    for dtype, tag in ((torch.float64, "64"), (torch.float32, "32")):
        for i, h in enumerate(trajectory(kind, hyper, skip, dtype)):
            arrays[f"p{i}_{tag}"] = h
    np.savez(os.path.join(out, name + ".npz"), **arrays)
    index.append(name)

# Gradient clipping of the step-0 gradients: far above the threshold, below it, and with max_norm equal to
# the total norm, where torch still scales by max_norm / (total + 1e-6).
total_exact = float(np.sqrt(sum(float(np.sum(g * g)) for g in G[0])))
MAX_NORMS = [1.0, 100.0, total_exact]
clip = {"max_norm": np.array(MAX_NORMS, dtype=np.float64)}
for dtype, tag in ((torch.float64, "64"), (torch.float32, "32")):
    totals = []
    for j, max_norm in enumerate(MAX_NORMS):
        params = [torch.nn.Parameter(torch.zeros(s, dtype=dtype)) for s in SHAPES]
        for p, g in zip(params, G[0]):
            p.grad = torch.tensor(g, dtype=dtype)
        totals.append(float(torch.nn.utils.clip_grad_norm_(params, max_norm)))
        for i, p in enumerate(params):
            clip[f"g{i}_{tag}_{j}"] = p.grad.to(torch.float64).numpy()
    clip["total_" + tag] = np.array(totals, dtype=np.float64)
np.savez(os.path.join(out, "clip.npz"), **clip)


def schedule(make, n, base_lr=0.1):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=base_lr)
    scheduler = make(opt)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(n):
        opt.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    return np.array(lrs, dtype=np.float64)


def warmup(opt, inner, steps=4):
    linear = lr_scheduler.LinearLR(opt, start_factor=1 / steps, end_factor=1.0, total_iters=steps - 1)
    return lr_scheduler.SequentialLR(opt, [linear, inner], milestones=[steps])


schedules = {
    "step_lr": schedule(lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 12),
    "cosine_lr": schedule(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-3), 10),
    "cosine_lr_to_zero": schedule(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=7), 7),
    "warmup_constant": schedule(lambda o: warmup(o, lr_scheduler.ConstantLR(o, factor=1.0, total_iters=0)), 10),
    "warmup_cosine": schedule(lambda o: warmup(o, lr_scheduler.CosineAnnealingLR(o, T_max=8, eta_min=1e-3)), 12),
    "warmup_step": schedule(lambda o: warmup(o, lr_scheduler.StepLR(o, step_size=3, gamma=0.5)), 12),
}
np.savez(os.path.join(out, "schedules.npz"), **schedules)

with open(os.path.join(out, "index.txt"), "w") as f:
    f.write("\n".join(index) + "\n")
