"""Reference values for data/resize.hpp, data/color.hpp and data/image_io.hpp.

Writes into <out>:
  resize_<case>.npz   x (C, H, W float64 on [0, 255]) and torch 1.13's F.interpolate of it in float64:
                      bilinear_aa (antialias=True), bilinear (antialias=False), nearest; size = (height, width)
  pil_resize_<case>.npz  x (H, W uint8) and PIL's Image.resize((width, height), BILINEAR) of it (uint8)
  crop_<case>.npz     x (C, H, W), size, and torchvision 0.14's center_crop of it (see center_crop below)
  grayscale.npz       rgb (3, H, W uint8) and PIL's convert('L') of it (H, W uint8)
  files/<name>        image files written by PIL, and files/<name>.npy: what PIL itself reads back from them
                      (mode '1', 'L' or 'LA' -> (H, W) gray; anything else -> (H, W, 3) RGB, alpha dropped)
  index.txt           the .npz names (without extension), one per line
  files/index.txt     the image file names, one per line
"""
import io
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

torch.set_num_threads(1)
out = sys.argv[1]
os.makedirs(os.path.join(out, "files"), exist_ok=True)
rng = np.random.default_rng(20260101)
index = []


def save(name, **arrays):
    np.savez(os.path.join(out, name + ".npz"), **arrays)
    index.append(name)


def picture(channels, height, width):
    """A smooth image with texture and noise on [0, 255]: gradients and a blob, like a face crop, so both
    smooth regions and edges are exercised (pure noise would hide interpolation-position errors)."""
    y, x = np.meshgrid(np.linspace(0, 1, height), np.linspace(0, 1, width), indexing="ij")
    planes = []
    for c in range(channels):
        base = 80 + 90 * x * (c + 1) / channels + 60 * y
        blob = 70 * np.exp(-((x - 0.4 - 0.1 * c) ** 2 + (y - 0.55) ** 2) / 0.04)
        stripes = 25 * np.sin(2 * np.pi * (x * (7 + c) + y * 3))
        planes.append(base + blob + stripes + rng.normal(0, 12, (height, width)))
    return np.clip(np.stack(planes), 0, 255)


# --- resize: torch.nn.functional.interpolate in float64 --------------------------------------------------------
resize_cases = [
    ("up_48_160", 1, 48, 48, 160, 160),           # the study's 48 -> 160 backbone input
    ("down_160_48", 1, 160, 160, 48, 48),
    ("down_480x640_48", 3, 480, 640, 48, 48),      # camera frame -> 48x48, scale 10 and 13.3
    ("casme_280x340_48", 1, 280, 340, 48, 48),     # the study's CASME II crop size
    ("nonsquare_mixed", 2, 37, 53, 20, 91),        # shrink one axis, enlarge the other
    ("nonsquare_up", 3, 9, 14, 31, 17),
    ("to_1x1", 3, 17, 29, 1, 1),
    ("to_1xN", 1, 13, 9, 1, 20),
    ("to_Nx1", 1, 13, 9, 6, 1),
    ("from_1x1", 2, 1, 1, 5, 7),
    ("same_size", 1, 48, 48, 48, 48),
    ("same_height", 1, 20, 30, 20, 11),
    ("double", 1, 11, 7, 22, 14),                  # torch's nearest has a special case for exactly 2x
    ("odd_ratios", 1, 7, 100, 3, 33),
    ("float_index", 1, 3, 2, 123, 82),             # nearest: float(2/82) * 41 floors to 0, 41 * 2 // 82 is 1
]
for name, c, h, w, oh, ow in resize_cases:
    x = torch.from_numpy(picture(c, h, w))[None]
    arrays = {"x": x[0].numpy(), "size": np.array([oh, ow], dtype=np.int64)}
    arrays["bilinear_aa"] = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False,
                                          antialias=True)[0].numpy()
    arrays["bilinear"] = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False,
                                       antialias=False)[0].numpy()
    arrays["nearest"] = F.interpolate(x, size=(oh, ow), mode="nearest")[0].numpy()
    save("resize_" + name, **arrays)

# --- PIL's BILINEAR on 8-bit images: the same filter, rounded to integers after each pass ---------------------
for name, h, w, oh, ow in (("160_48", 160, 160, 48, 48), ("280x340_48", 280, 340, 48, 48),
                           ("480x640_30x48", 480, 640, 30, 48)):
    x = np.round(picture(1, h, w)[0]).astype(np.uint8)
    y = np.asarray(Image.fromarray(x, "L").resize((ow, oh), Image.BILINEAR))
    save("pil_resize_" + name, x=x, y=y)


# --- center_crop: torchvision 0.14's torchvision/transforms/functional.py, transcribed (torchvision is not
# installed next to Debian's torch; the logic is short and copied line by line) ---------------------------------
def center_crop(img, output_size):
    crop_height, crop_width = output_size
    _, image_height, image_width = img.shape
    if crop_width > image_width or crop_height > image_height:
        left = (crop_width - image_width) // 2 if crop_width > image_width else 0
        top = (crop_height - image_height) // 2 if crop_height > image_height else 0
        right = (crop_width - image_width + 1) // 2 if crop_width > image_width else 0
        bottom = (crop_height - image_height + 1) // 2 if crop_height > image_height else 0
        img = np.pad(img, ((0, 0), (top, bottom), (left, right)), constant_values=0)  # pad(img, ltrb, fill=0)
        _, image_height, image_width = img.shape
        if crop_width == image_width and crop_height == image_height:
            return img
    crop_top = int(round((image_height - crop_height) / 2.0))
    crop_left = int(round((image_width - crop_width) / 2.0))
    return img[:, crop_top:crop_top + crop_height, crop_left:crop_left + crop_width]


for name, c, h, w, th, tw in (("shrink", 1, 48, 48, 40, 40), ("halves_even", 1, 5, 7, 2, 2),
                              ("halves_odd", 2, 7, 9, 2, 2), ("same", 1, 10, 10, 10, 10),
                              ("pad_both", 1, 6, 6, 9, 11), ("pad_height", 3, 8, 5, 13, 3),
                              ("pad_width", 1, 8, 5, 3, 9), ("one_pixel", 1, 1, 1, 1, 1), ("to_1x1", 2, 3, 4, 1, 1),
                              ("casme", 1, 280, 340, 240, 240)):
    x = picture(c, h, w)
    save("crop_" + name, x=x, size=np.array([th, tw], dtype=np.int64), y=center_crop(x, (th, tw)))

# --- grayscale: PIL's convert('L') (ITU-R BT.601 in 16-bit fixed point, rounded) -------------------------------
rgb = rng.integers(0, 256, (3, 40, 50), dtype=np.uint8)
corners = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 64, 32]], np.uint8)
rgb[:, 0, :len(corners)] = corners.T
save("grayscale", rgb=rgb, l=np.asarray(Image.fromarray(np.moveaxis(rgb, 0, -1), "RGB").convert("L")))

# --- image files written by PIL, and the values PIL reads back from them ---------------------------------------
files = []


def write(name, img, **options):
    path = os.path.join(out, "files", name)
    img.save(path, **options)
    back = Image.open(path)
    back.load()
    values = np.asarray(back.convert("L") if back.mode in ("1", "L", "LA") else back.convert("RGB"))
    np.save(path + ".npy", values)
    files.append(name)


gray = np.round(picture(1, 37, 45)[0]).astype(np.uint8)
colour = np.round(np.moveaxis(picture(3, 37, 45), 0, -1)).astype(np.uint8)
alpha = rng.integers(0, 256, gray.shape, dtype=np.uint8)
write("gray.png", Image.fromarray(gray, "L"))
write("rgb.png", Image.fromarray(colour, "RGB"))
write("rgba.png", Image.fromarray(np.dstack([colour, alpha]), "RGBA"))
write("gray_alpha.png", Image.fromarray(np.dstack([gray, alpha]), "LA"))
write("palette.png", Image.fromarray(colour, "RGB").quantize(colors=37))
write("palette_transparent.png", Image.fromarray(colour, "RGB").quantize(colors=16), transparency=3)
write("bilevel.png", Image.fromarray(gray > 128))
write("gray.jpg", Image.fromarray(gray, "L"), quality=95)
write("rgb_444.jpg", Image.fromarray(colour, "RGB"), quality=95, subsampling=0)
write("rgb_420.jpg", Image.fromarray(colour, "RGB"), quality=90, subsampling=2)
write("rgb_progressive.jpg", Image.fromarray(colour, "RGB"), quality=90, progressive=True, subsampling=0)
write("rgb.bmp", Image.fromarray(colour, "RGB"))
write("gray.bmp", Image.fromarray(gray, "L"))
write("palette.bmp", Image.fromarray(colour, "RGB").quantize(colors=20))
write("rgb.tga", Image.fromarray(colour, "RGB"))
write("rgb_rle.tga", Image.fromarray(colour, "RGB"), compression="tga_rle")
write("gray_rle.tga", Image.fromarray(gray, "L"), compression="tga_rle")
write("palette.gif", Image.fromarray(colour, "RGB").quantize(colors=30))
with open(os.path.join(out, "files", "index.txt"), "w") as f:
    f.write("\n".join(files) + "\n")

with open(os.path.join(out, "index.txt"), "w") as f:
    f.write("\n".join(index) + "\n")
