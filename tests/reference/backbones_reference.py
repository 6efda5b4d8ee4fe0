"""torchvision's VGG-16, ResNet-50 and Inception-V3, randomly initialised and exported by
examples/export_torchvision_weights.py (the exporter users run), with inputs and torchvision's outputs, for
tests/models: fergen must load each state_dict by name and give torchvision's logits in evaluation and training
mode, the same logits from a gray image through its 1-channel path, and torchvision's gradients.

BatchNorm weights, biases and running statistics are randomised so that evaluation mode is not the identity.
Dropout is 0 in training mode (its masks are random in both libraries). Arrays per model in <model>_io.npz:
  x_rgb [2, 3, S, S] (normal), gray [2, 1, S, S] on [0, 1] and x_gray = its ImageNet normalisation replicated
  to RGB; eval_rgb, eval_gray, train_rgb, train_gray (logits); r (the weights of the loss sum(logits * r) whose
  gradients grad.<name> come from a training pass on x_rgb; of a large gradient only its first rows) and
  running.<name> (BatchNorm statistics after that pass). For ResNet-50 and Inception-V3 that pass runs in
  float64 (train64_logits, grad64.<name>, running64.<name>; see below). Inception-V3 also, in float64 with
  its auxiliary head at 299x299: aux_x, aux_r, aux_r2, aux64_logits, aux64_aux (the auxiliary logits) and
  aux64_grad.<name> for the loss sum(logits * r) + sum(aux * r2).
Also <model>_x_rgb.npy, _gray.npy, _eval_rgb.npy and _eval_gray.npy, for the `fergen forward` tests.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples"))
import export_torchvision_weights as exporter  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.set_num_threads(1)

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

# model -> (input size, names whose gradients are compared, BatchNorm running statistics compared)
CASES = {
    "vgg16": (64, ["features.0.weight", "features.0.bias", "features.28.weight", "classifier.0.weight",
                   "classifier.6.weight", "classifier.6.bias"], []),
    "resnet50": (96, ["conv1.weight", "bn1.weight", "layer1.0.downsample.0.weight", "layer3.5.conv2.weight",
                      "layer4.2.bn3.bias", "fc.weight", "fc.bias"],
                 ["bn1.running_mean", "bn1.running_var", "layer4.2.bn3.running_var"]),
    "inception_v3": (139, ["Conv2d_1a_3x3.conv.weight", "Conv2d_1a_3x3.bn.weight", "Mixed_5b.branch_pool.conv.weight",
                           "Mixed_6e.branch7x7dbl_5.conv.weight", "Mixed_7c.branch3x3dbl_3b.conv.weight", "fc.weight",
                           "fc.bias"],
                     ["Conv2d_1a_3x3.bn.running_mean", "Mixed_7c.branch_pool.bn.running_var"]),
}


def randomize_batchnorm(net, generator):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=generator))
                m.bias.copy_(0.1 * torch.randn(c, generator=generator))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=generator))
                m.running_var.copy_(0.5 + torch.rand(c, generator=generator))


def grads(net, names):
    """Gradients by name; of a large one only its first rows (the first values in memory), to keep files small."""
    params = dict(net.named_parameters())
    out = {}
    for n in names:
        grad = params[n].grad.numpy()
        rows = max(1, min(grad.shape[0], (1 << 20) // max(1, grad[0].size)))
        out[n] = grad[:rows].copy()
    return out


for index, (model, (size, grad_names, running_names)) in enumerate(CASES.items()):
    inception = model == "inception_v3"
    net = exporter.build(model, "random", 1000, aux_logits=inception, transform_input=inception, dropout=0.0,
                         seed=index)
    g = torch.Generator().manual_seed(100 + index)
    randomize_batchnorm(net, g)
    exporter.export(net, os.path.join(out, model + ".npz"))
    state = {k: v.clone() for k, v in net.state_dict().items()}  # a copy: forward passes in training mode move the buffers

    io = {}
    x_rgb = torch.randn(2, 3, size, size, generator=g)
    gray = torch.rand(2, 1, size, size, generator=g)
    x_gray = (gray.repeat(1, 3, 1, 1) - MEAN) / STD
    io.update(x_rgb=x_rgb, gray=gray, x_gray=x_gray)
    with torch.no_grad():
        io["eval_rgb"] = net(x_rgb)
        io["eval_gray"] = net(x_gray)

    # Training mode at this size runs without the auxiliary head (it needs 299x299): the same weights in a
    # network built without it.
    train_net = net
    if inception:
        train_net = exporter.build(model, "random", 1000, aux_logits=False, transform_input=True, dropout=0.0)
        train_net.load_state_dict({k: v for k, v in state.items() if not k.startswith("AuxLogits.")})
    train_net.train()
    r = torch.randn(2, 1000, generator=g)
    with torch.no_grad():
        io["train_rgb"] = train_net(x_rgb)
        io["train_gray"] = train_net(x_gray)
    io["r"] = r
    # Gradients: VGG-16's are well-conditioned in float32 (float32 and float64 agree to 2e-6); through the 53
    # training-mode BatchNorms of ResNet-50 or Inception-V3 float32 loses two digits (float32 and float64
    # disagree by 1% at conv1), so theirs are compared in float64, with fergen's network in double.
    precise = model != "vgg16"
    train_net.load_state_dict({k: v for k, v in state.items() if k in train_net.state_dict()})
    if precise:
        train_net.double()
    train_net.zero_grad()
    y = train_net(x_rgb.to(torch.float64 if precise else torch.float32))
    (y * r.to(y.dtype)).sum().backward()
    tag = "64" if precise else ""
    io["train" + tag + "_logits"] = y.detach()
    io.update({f"grad{tag}.{k}": v for k, v in grads(train_net, grad_names).items()})
    buffers = dict(train_net.named_buffers())
    io.update({f"running{tag}.{k}": buffers[k].clone() for k in running_names})

    if inception:
        net.load_state_dict(state)
        net.double().train()
        net.zero_grad()
        x = torch.randn(2, 3, 299, 299, generator=g)
        r, r2 = torch.randn(2, 1000, generator=g), torch.randn(2, 1000, generator=g)
        y, aux = net(x.double())
        ((y * r.double()).sum() + (aux * r2.double()).sum()).backward()
        io.update(aux_x=x, aux_r=r, aux_r2=r2, aux64_logits=y.detach(), aux64_aux=aux.detach())
        io.update({"aux64_grad." + k: v for k, v in grads(net, ["Conv2d_1a_3x3.conv.weight",
                                                                "Mixed_6e.branch1x1.conv.weight",
                                                                "AuxLogits.conv1.conv.weight",
                                                                "AuxLogits.fc.weight"]).items()})

    arrays = {k: v.detach().numpy() if torch.is_tensor(v) else v for k, v in io.items()}
    for name in ("x_rgb", "gray", "eval_rgb", "eval_gray"):  # for the `fergen forward` tests
        np.save(os.path.join(out, f"{model}_{name}.npy"), arrays[name].astype(np.float32))
    np.savez(os.path.join(out, model + "_io.npz"),
             **{k: v.astype(np.float64 if "64" in k.split(".")[0] else np.float32) for k, v in arrays.items()})

with open(os.path.join(out, "index.txt"), "w") as f:
    f.write("\n".join(CASES) + "\n")
