"""Reference values for tests/models/test_unet.cpp: fergen's UNet against its PyTorch twin (unet_torch.py).

For each case: weights.npz (the state_dict, every tensor random so that no path starts at zero) and io.npz (x,
t, y, dy and, in float64 and float32, the output, dx and the gradients of a few parameters).
Usage: unet_reference.py OUT_DIR"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet_torch import UNet  # noqa: E402

CASES = {
    # Class-conditional with a null token, attention on the 4x4 level and in the middle, two heads.
    "unet_small": dict(image_channels=1, image_size=8, base_channels=8, channel_mult=(1, 2), res_blocks=1,
                       attention_resolutions=(4,), middle_attention=True, heads=2, groups=4, classes=3,
                       null_class=True, batch=3, height=8, width=8),
    # Unconditional, three levels, two residual blocks, non-square input, two image channels.
    "unet_uncond": dict(image_channels=2, image_size=8, base_channels=4, channel_mult=(1, 2, 2), res_blocks=2,
                        attention_resolutions=(), middle_attention=False, heads=1, groups=2, classes=0,
                        null_class=True, batch=2, height=8, width=12),
}
GRADS = ["time_embed.0.weight", "input_blocks.1.0.in_layers.2.weight", "middle_block.0.emb_layers.1.bias",
         "output_blocks.0.0.skip_connection.weight", "out.2.weight", "out.0.bias"]


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, case in CASES.items():
        case = dict(case)
        batch, height, width = case.pop("batch"), case.pop("height"), case.pop("width")
        torch.manual_seed(7)
        model = UNet(**case).double()
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.randn_like(p) * 0.3)
        model.eval()
        x = torch.randn(batch, case["image_channels"], height, width, dtype=torch.float64)
        t = torch.tensor([3.0, 517.0, 999.0][:batch], dtype=torch.float64)
        y = torch.tensor([0, 2, 3][:batch]) if case["classes"] else None
        dy = torch.randn(batch, case["image_channels"], height, width, dtype=torch.float64)
        io = {"x": x.numpy(), "t": t.numpy(), "dy": dy.numpy()}
        if y is not None:
            io["y"] = y.numpy().astype(np.int64)
        state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
        np.savez(os.path.join(out_dir, name + "_weights.npz"), **state)
        grads = [g for g in GRADS if g in state]
        for dtype, tag in ((torch.float64, "64"), (torch.float32, "32")):
            m = model.to(dtype)
            m.zero_grad()
            xi = x.to(dtype).clone().requires_grad_(True)
            out = m(xi, t, y)
            out.backward(dy.to(dtype))
            io["out" + tag] = out.detach().double().numpy()
            io["dx" + tag] = xi.grad.double().numpy()
            for g in grads:
                io["grad." + g + tag] = dict(m.named_parameters())[g].grad.double().numpy()
        io["grad_names"] = np.array([len(grads)], dtype=np.int64)
        with open(os.path.join(out_dir, name + "_grads.txt"), "w") as f:
            f.write("\n".join(grads) + "\n")
        np.savez(os.path.join(out_dir, name + "_io.npz"), **io)
    with open(os.path.join(out_dir, "index.txt"), "w") as f:
        f.write("\n".join(CASES) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
