"""Reference trajectories for tests/diffusion/test_dpm_solver.cpp: DPM-Solver++(2M) as diffusers'
DPMSolverMultistepScheduler computes it (algorithm_type="dpmsolver++", solver_order=2, solver_type="midpoint",
lower_order_final=True, final_sigmas_type="zero", timestep_spacing="trailing"), restated in numpy float64 from its
scheduling_dpmsolver_multistep.py (set_timesteps, convert_model_output, _threshold_sample,
dpm_solver_first_order_update, multistep_dpm_solver_second_order_update, step); diffusers is not a Debian package.
The scheduler is driven by a fixed "network", a function of (x, t, label) that the test computes the same way, with
classifier-free guidance as diffusers' pipelines apply it (uncond + w (cond - uncond)).
  dpmpp2m.npz   x_T, labels, and per case k: case_k_params [schedule (0 linear, 1 cosine), T, steps, prediction
                (0 eps, 1 x0, 2 v), thresholding, guidance], case_k_timesteps, case_k_path (x after each step,
                [steps, N, C, H, W]; the last is the sample)
Usage: dpm_solver_reference.py OUT_DIR"""
import math
import os
import sys

import numpy as np

CLASSES = 2  # the fixed network's classes; label 2 is its null class


def betas_for(kind, T):
    if kind == "linear":
        return np.linspace(1e-4, 0.02, T, dtype=np.float64)
    f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2  # squaredcos_cap_v2
    return np.array([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)], dtype=np.float64)


def network(x, t, labels, T):
    """out = (0.3 + 0.5 t / T) x + 0.5 sin(2 x + 0.37 j + 0.9 label), j the element's index within its image."""
    n = x.shape[0]
    j = np.arange(x[0].size, dtype=np.float64).reshape(x.shape[1:])
    lab = np.asarray(labels, dtype=np.float64).reshape(n, 1, 1, 1)
    return (0.3 + 0.5 * t / T) * x + 0.5 * np.sin(2 * x + 0.37 * j + 0.9 * lab)


class DPMSolverMultistep:
    def __init__(self, betas, prediction, thresholding, sample_max_value=1.0, dynamic_thresholding_ratio=0.995):
        self.T = len(betas)
        self.alphas_cumprod = np.cumprod(1 - betas)
        self.prediction = prediction
        self.thresholding = thresholding
        self.sample_max_value = sample_max_value
        self.ratio = dynamic_thresholding_ratio

    def set_timesteps(self, n):
        last_timestep = self.T  # lambda_min_clipped = -inf clips nothing
        step_ratio = self.T / n
        self.timesteps = np.arange(last_timestep, 0, -step_ratio).round().copy().astype(np.int64) - 1
        sigmas = np.array(((1 - self.alphas_cumprod) / self.alphas_cumprod) ** 0.5)
        sigmas = np.interp(self.timesteps, np.arange(0, len(sigmas)), sigmas)
        self.sigmas = np.concatenate([sigmas, [0.0]])  # final_sigmas_type "zero" (diffusers then casts to float32)
        self.model_outputs = [None, None]
        self.lower_order_nums = 0
        self.step_index = 0

    @staticmethod
    def sigma_to_alpha_sigma_t(sigma):
        alpha_t = 1 / ((sigma ** 2 + 1) ** 0.5)
        return alpha_t, sigma * alpha_t

    def threshold_sample(self, sample):
        n = sample.shape[0]
        flat = sample.reshape(n, -1)
        s = np.quantile(np.abs(flat), self.ratio, axis=1)
        s = np.clip(s, 1, self.sample_max_value)[:, None]
        return (np.clip(flat, -s, s) / s).reshape(sample.shape)

    def convert_model_output(self, model_output, sample):
        alpha_t, sigma_t = self.sigma_to_alpha_sigma_t(self.sigmas[self.step_index])
        if self.prediction == 0:
            x0_pred = (sample - sigma_t * model_output) / alpha_t
        elif self.prediction == 1:
            x0_pred = model_output
        else:
            x0_pred = alpha_t * sample - sigma_t * model_output
        if self.thresholding:
            x0_pred = self.threshold_sample(x0_pred)
        return x0_pred

    def lambdas(self, *sigmas):
        out = []
        for sigma in sigmas:
            alpha, s = self.sigma_to_alpha_sigma_t(sigma)
            with np.errstate(divide="ignore"):
                out.append((alpha, s, np.log(alpha) - np.log(s)))
        return out

    def first_order_update(self, model_output, sample):
        (alpha_t, sigma_t, lambda_t), (_, sigma_s, lambda_s) = self.lambdas(
            self.sigmas[self.step_index + 1], self.sigmas[self.step_index])
        h = lambda_t - lambda_s
        return (sigma_t / sigma_s) * sample - (alpha_t * (np.exp(-h) - 1.0)) * model_output

    def second_order_update(self, model_output_list, sample):
        (alpha_t, sigma_t, lambda_t), (_, sigma_s0, lambda_s0), (_, _, lambda_s1) = self.lambdas(
            self.sigmas[self.step_index + 1], self.sigmas[self.step_index], self.sigmas[self.step_index - 1])
        m0, m1 = model_output_list[-1], model_output_list[-2]
        h, h_0 = lambda_t - lambda_s0, lambda_s0 - lambda_s1
        r0 = h_0 / h
        D0, D1 = m0, (1.0 / r0) * (m0 - m1)
        return ((sigma_t / sigma_s0) * sample - (alpha_t * (np.exp(-h) - 1.0)) * D0
                - 0.5 * (alpha_t * (np.exp(-h) - 1.0)) * D1)

    def step(self, model_output, sample):
        n = len(self.timesteps)
        lower_order_final = self.step_index == n - 1  # final_sigmas_type "zero" (and lower_order_final, < 15)
        model_output = self.convert_model_output(model_output, sample)
        self.model_outputs[0] = self.model_outputs[1]
        self.model_outputs[-1] = model_output
        if self.lower_order_nums < 1 or lower_order_final:
            prev_sample = self.first_order_update(model_output, sample)
        else:
            prev_sample = self.second_order_update(self.model_outputs, sample)
        if self.lower_order_nums < 2:
            self.lower_order_nums += 1
        self.step_index += 1
        return prev_sample


def run(schedule, T, steps, prediction, thresholding, guidance, x_T, labels):
    scheduler = DPMSolverMultistep(betas_for(schedule, T), prediction, thresholding)
    scheduler.set_timesteps(steps)
    x = x_T.copy()
    path = []
    for t in scheduler.timesteps:
        out = network(x, float(t), labels, T)
        if guidance != 1:
            uncond = network(x, float(t), [CLASSES] * len(labels), T)
            out = uncond + guidance * (out - uncond)
        x = scheduler.step(out, x)
        path.append(x)
    return scheduler.timesteps, np.stack(path)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(16)
    x_T = rng.standard_normal((2, 3, 4, 4))
    labels = np.array([0, 1], dtype=np.int64)
    cases = []
    for steps in (10, 15):
        for prediction in (0, 1, 2):
            for thresholding in (0, 1):
                cases.append(("linear", 1000, steps, prediction, thresholding, 1.0))
    cases += [("linear", 1000, 15, 0, 1, 2.5), ("linear", 1000, 10, 2, 0, 2.5),  # guided
              ("linear", 1000, 1, 0, 1, 1.0), ("linear", 1000, 2, 0, 0, 1.0), ("linear", 1000, 3, 2, 1, 1.0),
              ("linear", 1000, 20, 0, 1, 1.0), ("cosine", 1000, 15, 2, 1, 1.0), ("linear", 50, 15, 0, 1, 1.0)]
    data = {"x_T": x_T, "labels": labels}
    for k, (schedule, T, steps, prediction, thresholding, guidance) in enumerate(cases):
        timesteps, path = run(schedule, T, steps, prediction, thresholding, guidance, x_T, labels)
        data[f"case_{k}_params"] = np.array([0 if schedule == "linear" else 1, T, steps, prediction, thresholding,
                                             guidance], dtype=np.float64)
        data[f"case_{k}_timesteps"] = timesteps
        data[f"case_{k}_path"] = path
    data["cases"] = np.array([len(cases)], dtype=np.int64)
    np.savez(os.path.join(out_dir, "dpmpp2m.npz"), **data)
    with open(os.path.join(out_dir, "index.txt"), "w") as f:
        f.write("dpmpp2m\n")


if __name__ == "__main__":
    main(sys.argv[1])
