#!/usr/bin/python3
"""Writes the .npy/.npz files that tests/core/test_npy.cpp and test_npz.cpp read, all made by numpy itself.

Usage: make_npy_fixtures.py <out_dir>

Besides the arrays it writes expected.txt, one line per array:
    <file> <key or -> <descr> <ndim> <dims...> <count> <values...>
values in C order, floats as Python's repr of the (exactly widened) double, integers in decimal, bools as
0/1, so the C++ side can compare bit for bit without a JSON parser.
"""
import io
import os
import struct
import sys
import zipfile
import zlib

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(20260314)
lines = []


def record(file, key, a):
    a = np.asarray(a)
    flat = a.ravel(order="C")
    if a.dtype.kind == "f":
        values = [repr(float(v)) for v in flat]
    elif a.dtype.kind == "b":
        values = ["1" if v else "0" for v in flat]
    else:
        values = [str(int(v)) for v in flat]
    fields = [file, key, a.dtype.str, str(a.ndim)] + [str(d) for d in a.shape] + [str(a.size)] + values
    lines.append(" ".join(fields))


def path(name):
    return os.path.join(out, name)


def save(name, a, version=None):
    with open(path(name), "wb") as f:
        if version is None:
            np.save(f, a)
        else:
            np.lib.format.write_array(f, a, version=version)
    record(name, "-", a)


def ints(dtype, shape):
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    flat = a.reshape(-1)
    flat[0], flat[1] = info.min, info.max  # the extremes must survive exactly
    return a


def floats(dtype, shape):
    a = rng.standard_normal(size=shape).astype(dtype)
    flat = a.reshape(-1)
    fi = np.finfo(dtype)
    specials = [0.0, -0.0, np.inf, -np.inf, np.nan, fi.max, fi.tiny, fi.smallest_subnormal]
    flat[: len(specials)] = np.array(specials, dtype=dtype)
    return a


# One 3x4 array per supported dtype.
for code in ["f4", "f8"]:
    save(f"{code}.npy", floats(np.dtype("<" + code), (3, 4)))
for code in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]:
    save(f"{code}.npy", ints(np.dtype(code).newbyteorder("<"), (3, 4)))
save("b1.npy", rng.integers(0, 2, size=(3, 4)).astype(bool))

# Shapes: 0-d scalars, a 1-tuple, 4-D, empty.
save("scalar_f8.npy", np.array(3.25))
save("scalar_i8.npy", np.array(-7, dtype=np.int64))
save("tuple1_i4.npy", np.arange(-2, 3, dtype=np.int32))
save("f4_4d.npy", rng.standard_normal(size=(2, 3, 4, 5)).astype(np.float32))
save("empty_f4.npy", np.zeros((0, 3), dtype=np.float32))

# Fortran order: numpy writes fortran_order True for F-contiguous arrays; the reader must give C order.
for name, a in [
    ("fortran_f8_3d.npy", np.asfortranarray(rng.standard_normal(size=(2, 3, 4)))),
    ("fortran_i2_2d.npy", np.asfortranarray(np.arange(15, dtype=np.int16).reshape(3, 5))),
]:
    save(name, a)
    with open(path(name), "rb") as f:
        assert b"'fortran_order': True" in f.read(128), name

# Header versions 2.0 and 3.0.
save("v2_f4.npy", rng.standard_normal(size=(4, 2)).astype(np.float32), version=(2, 0))
save("v3_u2.npy", np.arange(6, dtype=np.uint16).reshape(2, 3), version=(3, 0))

# For the rejection tests: valid numpy files fergen does not read.
np.save(path("bigendian_f4.npy"), np.arange(4, dtype=">f4"))
np.save(path("complex_c8.npy"), np.arange(4).astype(np.complex64))


def members(seed):
    r = np.random.default_rng(seed)
    return {
        "features.0.weight": r.standard_normal(size=(4, 3, 3, 3)).astype(np.float32),
        "fc.bias": r.standard_normal(size=(7,)),
        "bn1.num_batches_tracked": np.array(123, dtype=np.int64),  # how torch stores it: a 0-d int64
        "mask": r.integers(0, 2, size=(2, 5)).astype(bool),
        "labels": r.integers(0, 256, size=(6,)).astype(np.uint8),
    }


def record_npz(name, arrays):
    for key, a in arrays.items():
        record(name, key, a)


# np.savez forces zip64 local headers (sizes 0xFFFFFFFF + zip64 extra); np.savez_compressed also deflates.
arrays = members(1)
np.savez(path("savez.npz"), **arrays)
record_npz("savez.npz", arrays)
arrays = members(2)
np.savez_compressed(path("savez_compressed.npz"), **arrays)
record_npz("savez_compressed.npz", arrays)

# An archive comment that even contains a fake end-record signature: the reader scans backwards for the
# record whose comment length reaches exactly to the end of the file.
arrays = members(3)
np.savez(path("commented.npz"), **arrays)
with zipfile.ZipFile(path("commented.npz"), "a") as z:
    z.comment = b"PK\x05\x06 not the end record " + b"x" * 300
record_npz("commented.npz", arrays)


def zip64_everywhere(file, arrays):
    """A zip with zip64 in every place the format allows: 0xFFFFFFFF sizes and offsets in local and central
    headers with zip64 extra fields, a zip64 end record and locator, and a saturated classic end record.
    numpy only produces this for archives past 4 GiB, which a test cannot afford to write."""
    blob = io.BytesIO()
    central = []
    for i, (key, a) in enumerate(arrays.items()):
        f = io.BytesIO()
        np.lib.format.write_array(f, a)
        data = f.getvalue()
        method = 8 if i % 2 else 0
        if method == 8:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            payload = c.compress(data) + c.flush()
        else:
            payload = data
        crc = zlib.crc32(data)
        name = (key + ".npy").encode()
        offset = blob.tell()
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(payload))
        blob.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(name), len(extra)))
        blob.write(name + extra + payload)
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(payload), offset)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, method, 0, 0x21, crc, 0xFFFFFFFF,
                                   0xFFFFFFFF, len(name), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF) + name + cextra)
    cd_offset = blob.tell()
    for c in central:
        blob.write(c)
    cd_size = blob.tell() - cd_offset
    end64 = blob.tell()
    n = len(central)
    blob.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, cd_size, cd_offset))
    blob.write(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
    blob.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    with open(path(file), "wb") as f:
        f.write(blob.getvalue())
    # Proof that the hand-made file is a valid archive: Python's zipfile and numpy read it back.
    with zipfile.ZipFile(path(file)) as z:
        assert z.testzip() is None
    with np.load(path(file)) as loaded:
        assert sorted(loaded.files) == sorted(arrays)
        for key, a in arrays.items():
            assert np.array_equal(loaded[key], a)
    record_npz(file, arrays)


zip64_everywhere("zip64_everywhere.npz", members(4))

with open(path("expected.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
