"""A torch.nn.Sequential's state_dict exported as .npz (stored and compressed), with an input and torch's
output, for tests/nn/test_state_dict.cpp: fergen must load PyTorch's weights by name and reproduce it."""
import os
import sys

import numpy as np
import torch

torch.manual_seed(0)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)

net = torch.nn.Sequential(
    torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
    torch.nn.Conv2d(4, 6, 3, stride=2, bias=False), torch.nn.ReLU(),
    torch.nn.Flatten(), torch.nn.Linear(6 * 3 * 3, 5)).eval()
x = torch.randn(2, 3, 7, 7)
with torch.no_grad():
    y = net(x)
state = {k: v.numpy() for k, v in net.state_dict().items()}
np.savez(os.path.join(out, "weights.npz"), **state)
np.savez_compressed(os.path.join(out, "weights_compressed.npz"), **state)
np.savez(os.path.join(out, "io.npz"), x=x.numpy(), y=y.numpy())
with open(os.path.join(out, "index.txt"), "w") as f:
    f.write("weights\nweights_compressed\n")
