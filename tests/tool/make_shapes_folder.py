#!/usr/bin/env python3
"""Writes an image folder that looks nothing like CASME II, for `fergen evaluate` run as users run it.

ROOT/<class>/<n>.png with three classes (circle, square, cross) of colour 40x40 shapes at random places and
sizes on a noisy background: no subjects, no clips, no coding sheet, RGB instead of gray, another image size and
another class set than the study's. `--classes` picks the classes (a synthetic set with a class the real one
lacks is one of the tool's bad inputs). Deterministic by --seed.

usage: make_shapes_folder.py ROOT [--per-class N] [--seed S] [--classes circle,square,cross]
"""
import argparse
import os
import random

from PIL import Image, ImageDraw

SIZE = 40


def draw(kind, rng):
    background = tuple(rng.randrange(0, 80) for _ in range(3))
    image = Image.new("RGB", (SIZE, SIZE), background)
    pixels = image.load()
    for y in range(SIZE):
        for x in range(SIZE):
            pixels[x, y] = tuple(min(255, c + rng.randrange(0, 24)) for c in pixels[x, y])
    d = ImageDraw.Draw(image)
    r = rng.randrange(7, 13)
    cx, cy = rng.randrange(r + 1, SIZE - r - 1), rng.randrange(r + 1, SIZE - r - 1)
    colour = tuple(rng.randrange(140, 256) for _ in range(3))
    if kind == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif kind == "square":
        d.rectangle([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif kind == "cross":
        w = max(2, r // 3)
        d.rectangle([cx - r, cy - w, cx + r, cy + w], fill=colour)
        d.rectangle([cx - w, cy - r, cx + w, cy + r], fill=colour)
    elif kind == "star":
        d.polygon([(cx, cy - r), (cx + r // 3, cy - r // 3), (cx + r, cy), (cx + r // 3, cy + r // 3), (cx, cy + r),
                   (cx - r // 3, cy + r // 3), (cx - r, cy), (cx - r // 3, cy - r // 3)], fill=colour)
    else:
        raise SystemExit(f"unknown shape {kind!r}")
    return image


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--per-class", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classes", default="circle,square,cross")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for kind in args.classes.split(","):
        os.makedirs(os.path.join(args.root, kind), exist_ok=True)
        for n in range(args.per_class):
            draw(kind, rng).save(os.path.join(args.root, kind, f"{kind}_{n:03d}.png"))
    print(f"wrote {args.per_class} images of each of {args.classes} under {args.root}")


if __name__ == "__main__":
    main()
