"""Reference values for tests/diffusion/test_diffusion_process.cpp, computed with numpy the way diffusers'
DDPMScheduler and DDIMScheduler compute them (diffusers is not a Debian package; its formulas are restated here
from its scheduling_ddpm.py / scheduling_ddim.py, in float64):
  betas.npz      betas of linear, scaled_linear, squaredcos_cap_v2 (cosine) and sigmoid schedules
  spacing.npz    set_timesteps() for leading / linspace / trailing over a grid of (T, steps, offset)
  steps.npz      one DDPM and one DDIM step for every prediction type, with and without clip_sample
Usage: diffusion_reference.py OUT_DIR"""
import math
import os
import sys

import numpy as np


def betas_for(kind, T, start=1e-4, end=0.02):
    if kind == "linear":
        return np.linspace(start, end, T, dtype=np.float64)
    if kind == "scaled_linear":
        return np.linspace(start ** 0.5, end ** 0.5, T, dtype=np.float64) ** 2
    if kind == "sigmoid":
        x = np.linspace(-6, 6, T, dtype=np.float64)
        return 1 / (1 + np.exp(-x)) * (end - start) + start
    if kind == "cosine":  # betas_for_alpha_bar(alpha_transform_type="cosine")
        f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
        return np.array([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)], dtype=np.float64)
    raise ValueError(kind)


def spacing(kind, T, n, offset):
    if kind == "linspace":
        t = np.linspace(0, T - 1, n).round()[::-1].copy().astype(np.int64)
    elif kind == "leading":
        ratio = T // n
        t = (np.arange(0, n) * ratio).round()[::-1].copy().astype(np.int64)
    else:
        ratio = T / n
        t = np.round(np.arange(T, 0, -ratio)).astype(np.int64) - 1
    return t + offset


def ddpm_step(acp, t, prev, out, x, pred, clip):
    a_t, a_prev = acp[t], (acp[prev] if prev >= 0 else 1.0)
    b_t, b_prev = 1 - a_t, 1 - a_prev
    cur_a = a_t / a_prev
    cur_b = 1 - cur_a
    if pred == "eps":
        x0 = (x - b_t ** 0.5 * out) / a_t ** 0.5
    elif pred == "x0":
        x0 = out
    else:
        x0 = a_t ** 0.5 * x - b_t ** 0.5 * out
    if clip:
        x0 = np.clip(x0, -1, 1)
    mean = (a_prev ** 0.5 * cur_b) / b_t * x0 + cur_a ** 0.5 * b_prev / b_t * x
    return mean, b_prev / b_t * cur_b, cur_b


def ddim_step(acp, t, prev, out, x, pred, clip, eta, noise):
    a_t, a_prev = acp[t], (acp[prev] if prev >= 0 else 1.0)
    b_t = 1 - a_t
    if pred == "eps":
        x0, eps = (x - b_t ** 0.5 * out) / a_t ** 0.5, out
    elif pred == "x0":
        x0 = out
        eps = (x - a_t ** 0.5 * x0) / b_t ** 0.5
    else:
        x0 = a_t ** 0.5 * x - b_t ** 0.5 * out
        eps = a_t ** 0.5 * out + b_t ** 0.5 * x
    if clip:
        x0 = np.clip(x0, -1, 1)
        eps = (x - a_t ** 0.5 * x0) / b_t ** 0.5  # use_clipped_model_output=True
    var = (1 - a_prev) / b_t * (1 - a_t / a_prev)
    std = eta * var ** 0.5
    return a_prev ** 0.5 * x0 + (1 - a_prev - std ** 2) ** 0.5 * eps + std * noise


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    betas = {f"{k}_{T}": betas_for(k, T) for k in ("linear", "scaled_linear", "cosine", "sigmoid") for T in (1000, 7)}
    betas["scaled_linear_sd"] = betas_for("scaled_linear", 1000, 0.00085, 0.012)
    np.savez(os.path.join(out_dir, "betas.npz"), **betas)

    cases, values = [], []
    for kind in ("leading", "linspace", "trailing"):
        for T in (1000, 999, 50, 7, 1):
            for n in (1, 2, 3, 7, 10, 25, 49, 50, 333, 999, 1000):
                for offset in (0, 1):
                    if n > T:
                        continue
                    t = spacing(kind, T, n, offset)
                    ok = len(t) == n and t.max() < T and t.min() >= 0 and np.all(np.diff(t) < 0)
                    cases.append([("leading", "linspace", "trailing").index(kind), T, n, offset, int(ok)])
                    values.append(np.pad(t, (0, 1000 - len(t)), constant_values=-7) if len(t) <= 1000 else t[:1000])
    np.savez(os.path.join(out_dir, "spacing.npz"), cases=np.array(cases, dtype=np.int64),
             values=np.array(values, dtype=np.int64))

    rng = np.random.default_rng(3)
    acp = np.cumprod(1 - betas["linear_1000"])
    x = rng.standard_normal(64) * 1.2
    out = rng.standard_normal(64)
    noise = rng.standard_normal(64)
    steps = {"x": x, "out": out, "noise": noise}
    for pred in ("eps", "x0", "v"):
        for clip in (0, 1):
            for t, prev in ((999, 979), (500, 499), (20, -1), (1, 0)):
                mean, small, large = ddpm_step(acp, t, prev, out, x, pred, clip)
                key = f"{pred}_{clip}_{t}_{prev}"
                steps["ddpm_mean_" + key] = mean
                steps["ddpm_var_" + key] = np.array([small, large])
                for eta in (0.0, 0.5, 1.0):
                    steps[f"ddim_{eta}_" + key] = ddim_step(acp, t, prev, out, x, pred, clip, eta, noise)
    np.savez(os.path.join(out_dir, "steps.npz"), **steps)
    with open(os.path.join(out_dir, "index.txt"), "w") as f:
        f.write("betas\nspacing\nsteps\n")


if __name__ == "__main__":
    main(sys.argv[1])
