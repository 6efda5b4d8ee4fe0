#!/usr/bin/env python3
"""Export a torchvision backbone's weights to the .npz that fergen's backbones load.

    export_torchvision_weights.py --model resnet50 --out resnet50_imagenet.npz
    export_torchvision_weights.py --model inception_v3 --out inception_v3_imagenet.npz
    export_torchvision_weights.py --model vgg16 --weights random --seed 1 --num-classes 7 --out vgg16_random.npz

--weights imagenet (the default) fetches torchvision's ImageNet-1k weights, which needs network access once
(torchvision caches them under ~/.cache/torch); --weights random builds the network with torchvision's own
initialisation from --seed, with no network at all (fergen's tests use that). The archive holds the model's
state_dict as it is: every parameter and buffer under its torchvision name, float32, with BatchNorm's
num_batches_tracked as int64, stored uncompressed (--compress deflates it: VGG-16's 528 MiB shrink by about
7%, and loading takes longer).

Load it with fergen::models::load_backbone_weights (any number of classes: a head of another size is
initialised and reported), or check it with the tool:

    fergen forward --model resnet50 --classes 1000 --weights resnet50_imagenet.npz --input x.npy --output y.npy

Inception-V3's ImageNet weights expect torchvision's transform_input (the exporter says so): build fergen's
network with inception_options{.transform_input = true}, or pass --transform-input to `fergen forward`.
Inputs are RGB on [0, 1] normalised with ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
"""
import argparse
import os
import sys

import numpy as np
import torch
import torchvision

MODELS = ("vgg16", "resnet50", "inception_v3")


def build(model, weights="random", num_classes=1000, aux_logits=False, transform_input=False, dropout=0.5, seed=0):
    """The torchvision network, in evaluation mode. Random weights come from torch.manual_seed(seed)."""
    if model not in MODELS:
        raise ValueError(f"unknown model '{model}' (choose from {', '.join(MODELS)})")
    if weights == "imagenet":
        if num_classes != 1000:
            raise ValueError("ImageNet weights have a 1000-class head; fergen replaces it when it loads them")
        if model == "vgg16":
            net = torchvision.models.vgg16(weights="IMAGENET1K_V1")
        elif model == "resnet50":
            net = torchvision.models.resnet50(weights="IMAGENET1K_V1")
        else:  # torchvision turns aux_logits and transform_input on for these weights
            net = torchvision.models.inception_v3(weights="IMAGENET1K_V1")
        return net.eval()
    if weights != "random":
        raise ValueError(f"unknown weights '{weights}' (imagenet or random)")
    torch.manual_seed(seed)
    if model == "vgg16":
        net = torchvision.models.vgg16(num_classes=num_classes, dropout=dropout)
    elif model == "resnet50":
        net = torchvision.models.resnet50(num_classes=num_classes)
    else:
        net = torchvision.models.inception_v3(num_classes=num_classes, aux_logits=aux_logits,
                                              transform_input=transform_input, dropout=dropout, init_weights=True)
    return net.eval()


def state_arrays(net):
    """The state_dict as numpy arrays: float32 parameters and buffers, int64 counters."""
    out = {}
    for name, value in net.state_dict().items():
        array = value.detach().cpu().numpy()
        out[name] = array.astype(np.int64 if array.dtype.kind in "iu" else np.float32, copy=False)
    return out


def export(net, path, compress=False):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    arrays = state_arrays(net)
    (np.savez_compressed if compress else np.savez)(path, **arrays)
    return arrays


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, choices=MODELS)
    parser.add_argument("--out", required=True, help="the .npz file to write")
    parser.add_argument("--weights", default="imagenet", choices=("imagenet", "random"))
    parser.add_argument("--seed", type=int, default=0, help="with --weights random")
    parser.add_argument("--num-classes", type=int, default=1000, help="with --weights random")
    parser.add_argument("--aux-logits", action="store_true", help="inception_v3, --weights random: build AuxLogits")
    parser.add_argument("--transform-input", action="store_true", help="inception_v3, --weights random")
    parser.add_argument("--compress", action="store_true", help="deflate the archive (smaller, slower to load)")
    args = parser.parse_args(argv)
    try:
        net = build(args.model, args.weights, args.num_classes, args.aux_logits, args.transform_input, 0.5, args.seed)
    except Exception as e:  # network errors, bad combinations: one line, as the fergen tool reports
        print(f"export_torchvision_weights: error: {e}", file=sys.stderr)
        return 1
    arrays = export(net, args.out, args.compress)
    count = sum(a.size for k, a in arrays.items() if not k.endswith("num_batches_tracked"))
    print(f"wrote {args.out}: {args.model}, {len(arrays)} arrays, {count} values")
    if args.model == "inception_v3" and getattr(net, "transform_input", False):
        print("note: these weights expect transform_input (fergen: inception_options{.transform_input = true}, "
              "or `fergen forward --transform-input`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
