"""Reference outputs of Keras' ImageDataGenerator.apply_transform (+ standardize's rescale) for fixed parameters.

Keras is not installed; its apply_affine_transform is rewritten here from keras.preprocessing.image (Keras 2.x):
transform_matrix = rotation @ shift @ zoom (each only when not the identity), centred by
transform_matrix_offset_center (o = size / 2 - 0.5), then every channel resampled by
scipy.ndimage.affine_transform(channel, M[:2, :2], M[:2, 2], order=1, mode=fill_mode, cval=cval) -- scipy is the
reference being matched. Then horizontal flip (columns), vertical flip (rows), brightness (x * b clipped to
[0, 255]), rescale (x * factor).

One deliberate difference from Keras' literal code: Keras evaluates the matrix with np.cos/np.sin and np.dot,
whose last bits depend on the machine (SIMD math, BLAS with fused multiply-adds). At 90 or 180 degrees those
bits decide whether a border pixel is cval ('constant') or the opposite edge ('wrap'). The matrix here is
evaluated in one fixed order -- math.cos/math.sin of theta * (pi / 180), every 3x3 product entry summed
((0 + a0 b0) + a1 b1) + a2 b2 -- the order fergen's keras_matrix uses, so the comparison is exact.

Writes <out>/<case>.<fill>.npz (x: input C x H x W float32, y: output, params: theta, tx, ty, zx, zy, flip_h,
flip_v, brightness, rescale, cval; mode: the fill mode's name as uint8 bytes; matrix: 2 x 3, identity when the
warp is skipped; warped: 1 if the warp ran) and <out>/index.txt.
"""
import math
import os
import sys

import numpy as np
from scipy import ndimage

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(20260131)
index = []


def matmul3(a, b):
    return [[((0.0 + a[i][0] * b[0][j]) + a[i][1] * b[1][j]) + a[i][2] * b[2][j] for j in range(3)] for i in range(3)]


def keras_matrix(theta, tx, ty, zx, zy, h, w):
    """apply_affine_transform's matrix, or None when Keras skips the warp."""
    m = None
    if theta != 0:
        t = theta * (math.pi / 180.0)
        c, s = math.cos(t), math.sin(t)
        m = [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
    if tx != 0 or ty != 0:
        shift = [[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]]
        m = shift if m is None else matmul3(m, shift)
    if zx != 1 or zy != 1:
        zoom = [[zx, 0.0, 0.0], [0.0, zy, 0.0], [0.0, 0.0, 1.0]]
        m = zoom if m is None else matmul3(m, zoom)
    if m is None:
        return None
    o_x, o_y = float(h) / 2 - 0.5, float(w) / 2 - 0.5
    offset = [[1.0, 0.0, o_x], [0.0, 1.0, o_y], [0.0, 0.0, 1.0]]
    reset = [[1.0, 0.0, -o_x], [0.0, 1.0, -o_y], [0.0, 0.0, 1.0]]
    return np.array(matmul3(matmul3(offset, m), reset), dtype=np.float64)


def keras_apply(x, p, mode, cval):
    m = keras_matrix(p["theta"], p["tx"], p["ty"], p["zx"], p["zy"], x.shape[1], x.shape[2])
    if m is not None:
        x = np.stack([ndimage.affine_transform(channel, m[:2, :2], m[:2, 2], order=1, mode=mode, cval=cval)
                      for channel in x])
    if p["flip_h"]:
        x = x[:, :, ::-1]
    if p["flip_v"]:
        x = x[:, ::-1, :]
    if p["brightness"] != 1:
        x = np.clip(x.astype(np.float64) * p["brightness"], 0, 255).astype(np.float32)
    if p["rescale"] != 1:
        x = (x.astype(np.float64) * p["rescale"]).astype(np.float32)
    return np.ascontiguousarray(x, dtype=np.float32), m


def picture(c, h, w, integer=True):
    """A face-sized test picture: smooth structure, noise, a few saturated pixels (brightness clipping)."""
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    planes = []
    for k in range(c):
        base = 128 + 90 * np.sin(3.1 * xx + 1.7 * k) * np.cos(2.3 * yy - 0.4 * k) + rng.normal(0, 12, (h, w))
        planes.append(base)
    x = np.clip(np.stack(planes), 0, 255)
    x.flat[rng.choice(x.size, max(1, x.size // 50), replace=False)] = 255
    if integer:
        x = np.round(x)
    else:
        x = x + rng.uniform(-0.5, 0.5, x.shape)
        x = np.clip(x, 0, 255)
    return x.astype(np.float32)


def params(theta=0.0, tx=0.0, ty=0.0, zx=1.0, zy=1.0, flip_h=False, flip_v=False, brightness=1.0, rescale=1.0):
    return dict(theta=theta, tx=tx, ty=ty, zx=zx, zy=zy, flip_h=flip_h, flip_v=flip_v, brightness=brightness,
                rescale=rescale)


cases = [
    ("rotate_15", (1, 32, 32), True, params(theta=15.0)),
    ("rotate_neg7p3_rgb", (3, 37, 53), False, params(theta=-7.3)),
    ("shift_pixels", (1, 32, 32), True, params(tx=3.0, ty=5.0)),
    # Fraction ranges become pixels: uniform(-0.1, 0.1) * size, as get_random_transform does.
    ("shift_fraction_negative", (1, 37, 53), True, params(tx=-0.0731 * 37, ty=0.0642 * 53)),
    ("zoom_in", (1, 32, 32), True, params(zx=0.8, zy=0.9)),
    ("zoom_out_rgb", (3, 37, 53), True, params(zx=1.25, zy=1.4)),
    ("combined_rgb", (3, 37, 53), False,
     params(theta=-13.0, tx=2.5, ty=-3.2, zx=0.9, zy=1.1, flip_h=True, brightness=1.1, rescale=1 / 255)),
    ("flips_only_rgb", (3, 20, 27), True, params(flip_h=True, flip_v=True)),
    ("rotate_flip_vertical", (1, 32, 32), True, params(theta=5.0, flip_v=True)),
    ("brightness_clip", (1, 32, 32), True, params(theta=3.0, brightness=1.6)),
    ("brightness_dark_rgb", (3, 20, 27), True, params(brightness=0.3, rescale=1 / 255)),
    ("rotate_90", (1, 37, 53), True, params(theta=90.0)),
    ("rotate_180_rgb", (3, 32, 32), True, params(theta=180.0)),
    ("rotate_180_nonsquare", (1, 37, 53), True, params(theta=180.0)),
    ("rotate_neg90_shift", (1, 32, 32), True, params(theta=-90.0, tx=2.0, ty=-1.5)),
    ("large_shift", (1, 16, 16), True, params(tx=40.0, ty=-37.0)),
    ("study_160_rgb", (3, 160, 160), True,
     params(theta=14.2, tx=9.6, ty=-12.1, flip_h=True, brightness=0.85, rescale=1 / 255)),
    ("study_160_gray", (1, 160, 160), False, params(theta=-11.8, tx=-15.9, ty=4.4, brightness=1.19, rescale=1 / 255)),
    ("single_row", (1, 1, 7), True, params(theta=10.0, zx=0.7, zy=1.3)),
    ("single_column", (1, 9, 1), True, params(theta=20.0)),
    ("identity", (3, 20, 27), True, params()),
]
fills = [("nearest", "nearest", 0.0), ("constant0", "constant", 0.0), ("constant128", "constant", 128.0),
         ("reflect", "reflect", 0.0), ("wrap", "wrap", 0.0)]

for name, shape, integer, p in cases:
    x = picture(*shape, integer=integer)
    for tag, mode, cval in fills:
        y, m = keras_apply(x, p, mode, cval)
        vector = np.array([p["theta"], p["tx"], p["ty"], p["zx"], p["zy"], float(p["flip_h"]), float(p["flip_v"]),
                           p["brightness"], p["rescale"], cval], dtype=np.float64)
        matrix = np.eye(2, 3) if m is None else m[:2, :]
        case = name + "." + tag
        np.savez(os.path.join(out, case + ".npz"), x=x, y=y, params=vector,
                 mode=np.frombuffer(mode.encode(), dtype=np.uint8), matrix=matrix,
                 warped=np.array(0 if m is None else 1, dtype=np.int64))
        index.append(case)

with open(os.path.join(out, "index.txt"), "w") as f:
    f.write("\n".join(index) + "\n")
