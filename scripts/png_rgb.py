"""8-bit RGB PNGs from float arrays without Pillow (matplotlib's imsave writes RGBA, which
neurotex reads with a notice), and a plain 2x upscale: for the example maps and the comparison
inputs the scripts write."""

import struct
import zlib

import numpy as np


def save_rgb(path, a):
    """a [H,W,3+] in [0,1] -> an 8-bit RGB PNG."""
    a = (np.clip(a[..., :3], 0, 1) * 255).round().astype(np.uint8)
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def upscale(a, nearest=False):
    """2x: nearest for maps (their colours stay flat), bilinear-like (pixel centres
    interpolated) for photos."""
    big = a.repeat(2, 0).repeat(2, 1)
    if nearest:
        return big
    padded = np.pad(big, ((1, 1), (1, 1), (0, 0)), mode="edge")
    return (padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
            + 4 * big) / 8
