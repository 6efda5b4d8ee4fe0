"""The PyTorch side of benchmarks/bench_backbones: a training step (forward, cross-entropy, backward, SGD with
momentum 0.9) and inference (eval mode, no_grad), timed as the C++ side times them, 7 classes.

    torch_backbones.py THREADS SIZE

It stays up and answers one request per line of stdin, one number per line of stdout: "MODEL params" (MODEL
vgg16, resnet50 or inception_v3) -> the network's parameter count, once it is built (bench_backbones asks first,
so that importing torch and building the network do not overlap its own measurement); "MODEL train SECONDS" /
"MODEL infer SECONDS" -> the median seconds per batch over about SECONDS, after one warm-up call on the first
request of each. bench_backbones alternates rounds of its own measurement with these requests. One network is held
at a time: a request for another builds it (seed 0). It ends when stdin closes.

SIZE full: torchvision's VGG-16, ResNet-50 and Inception-V3 (no auxiliary head), batch 8, 3x160x160.
SIZE small: twins of fergen's small presets (models/backbones.hpp), as `fergen demo` trains them: batch 16, gray
1x48x48 (Inception-V3 small 1x107x107). The twins are torchvision's own classes with fergen's widths; their
parameter counts equal fergen's (679,111, 509,975 and 346,059 with 3 input channels).
"""
import functools
import sys

import torch
import torchvision
from torch import nn
from torchvision.models import inception as tv_inception
from torchvision.models.resnet import Bottleneck, ResNet
from torchvision.models.vgg import VGG, make_layers

from torch_timing import timed  # benchmarks/, the script's own folder

torch.set_num_threads(int(sys.argv[1]))
SIZE_NAME = sys.argv[2]
CLASSES = 7


def vgg16_small(in_channels):
    """8 convolutions of 16-128 channels with BatchNorm in VGG-16's five stages, a 256-wide classifier on a 1x1 pool."""
    cfg = [16, "M", 32, "M", 64, 64, "M", 128, 128, "M", 128, 128, "M"]
    net = VGG(make_layers(cfg, batch_norm=True), num_classes=CLASSES)
    net.features[0] = nn.Conv2d(in_channels, 16, kernel_size=3, padding=1)
    net.avgpool = nn.AdaptiveAvgPool2d(1)
    net.classifier = nn.Sequential(nn.Linear(128, 256), nn.ReLU(True), nn.Dropout(), nn.Linear(256, 256), nn.ReLU(True),
                                   nn.Dropout(), nn.Linear(256, CLASSES))
    return net


class ResNetOfWidth(ResNet):
    """torchvision's ResNet with another stem width (torchvision's is 64) and stage widths width x 1, 2, 4, 8."""

    def __init__(self, layers, width, in_channels):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(Bottleneck, width, layers[0])
        self.layer2 = self._make_layer(Bottleneck, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(Bottleneck, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(Bottleneck, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width * 8 * Bottleneck.expansion, CLASSES)


def inception_v3_small(in_channels, divisor=8):
    """Inception-V3 with every width divided by divisor (the image's channels excepted)."""

    class NarrowConv(tv_inception.BasicConv2d):
        def __init__(self, cin, cout, **kwargs):
            super().__init__(cin if cin == 3 else cin // divisor, cout // divisor, **kwargs)

    # Inception3 passes its conv_block to the stem only: each block gets it here.
    blocks = [NarrowConv] + [functools.partial(block, conv_block=NarrowConv)
                             for block in (tv_inception.InceptionA, tv_inception.InceptionB, tv_inception.InceptionC,
                                           tv_inception.InceptionD, tv_inception.InceptionE,
                                           tv_inception.InceptionAux)]
    net = tv_inception.Inception3(num_classes=CLASSES, aux_logits=False, transform_input=False,
                                  inception_blocks=blocks, init_weights=True)
    net.Conv2d_1a_3x3 = tv_inception.BasicConv2d(in_channels, 32 // divisor, kernel_size=3, stride=2)
    net.fc = nn.Linear(2048 // divisor, CLASSES)
    return net


def build(name):
    """The network, and the input it is timed on: (batch, channels, height = width)."""
    if SIZE_NAME == "small":
        if name == "vgg16":
            return vgg16_small(1), (16, 1, 48)
        if name == "resnet50":
            return ResNetOfWidth([1, 1, 1, 1], 16, 1), (16, 1, 48)
        return inception_v3_small(1), (16, 1, 107)
    if name == "vgg16":
        return torchvision.models.vgg16(num_classes=CLASSES), (8, 3, 160)
    if name == "resnet50":
        return torchvision.models.resnet50(num_classes=CLASSES), (8, 3, 160)
    return torchvision.models.inception_v3(num_classes=CLASSES, aux_logits=False, init_weights=True), (8, 3, 160)


class Workloads:
    """One network with its input, labels and optimiser, and its two timed calls."""

    def __init__(self, name):
        torch.manual_seed(0)
        self.net, (batch, channels, size) = build(name)
        self.x = torch.randn(batch, channels, size, size)
        self.y = torch.arange(batch) % CLASSES
        self.opt = torch.optim.SGD(self.net.parameters(), lr=1e-3, momentum=0.9)
        self.loss_fn = torch.nn.CrossEntropyLoss()

    def train_step(self):
        self.net.train()
        self.opt.zero_grad()
        self.loss_fn(self.net(self.x), self.y).backward()
        self.opt.step()

    def inference(self):
        self.net.eval()
        with torch.no_grad():
            self.net(self.x)


current_name, current, warmed = None, None, set()
for line in iter(sys.stdin.readline, ""):
    request = line.split()
    known = len(request) >= 2 and request[0] in ("vgg16", "resnet50", "inception_v3")
    if not (known and (request[1:] == ["params"] or (len(request) == 3 and request[1] in ("train", "infer")))):
        sys.exit(f"torch_backbones.py: unknown request {line.strip()!r}")
    name, kind = request[0], request[1]
    if name != current_name:
        current = None  # the previous network's memory goes before the next is built
        current_name, current = name, Workloads(name)
    if kind == "params":
        print(sum(p.numel() for p in current.net.parameters()), flush=True)
        continue
    seconds = float(request[2])
    call = current.train_step if kind == "train" else current.inference
    print(timed(call, seconds, 0 if (name, kind) in warmed else 1), flush=True)
    warmed.add((name, kind))
