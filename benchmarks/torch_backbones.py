"""The PyTorch side of benchmarks/bench_backbones: torchvision's VGG-16, ResNet-50 and Inception-V3 (no
auxiliary head), batch 8, 3x160x160, 7 classes; a training step (forward, cross-entropy, backward, SGD with
momentum 0.9) and inference (eval mode, no_grad), timed as the C++ side times them.

    torch_backbones.py THREADS SECONDS MODEL...

Prints two lines per model, median seconds per batch: the training step, then inference.
"""
import statistics
import sys
import time

import torch
import torchvision

torch.set_num_threads(int(sys.argv[1]))
min_seconds = float(sys.argv[2])
BATCH, SIZE, CLASSES = 8, 160, 7


def timed(fn):
    fn()  # warm-up: allocations, oneDNN primitive creation
    samples, start = [], time.perf_counter()
    while len(samples) < 3 or (time.perf_counter() - start < min_seconds and len(samples) < 50):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def build(name):
    if name == "vgg16":
        return torchvision.models.vgg16(num_classes=CLASSES)
    if name == "resnet50":
        return torchvision.models.resnet50(num_classes=CLASSES)
    return torchvision.models.inception_v3(num_classes=CLASSES, aux_logits=False, init_weights=True)


torch.manual_seed(0)
x = torch.randn(BATCH, 3, SIZE, SIZE)
y = torch.arange(BATCH) % CLASSES
for name in sys.argv[3:]:
    net = build(name)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step():
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()

    def inference():
        with torch.no_grad():
            net(x)

    net.train()
    print(timed(train_step), flush=True)
    net.eval()
    print(timed(inference), flush=True)
    del net, opt
