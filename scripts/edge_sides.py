#!/usr/bin/env python3
"""Band against interior per side (left, right, top, bottom) of each image: the band is 1/32 of
the side, as `neurotex measure` takes it, the interior the rest; detail = mean |Laplacian| of the
luminance, saturation = mean of max - min over RGB. Tells which edge a frame, or a copy of the
exemplar's own edge, is on (docs/quality.md, "Edge fade").

    .venv/bin/python scripts/edge_sides.py "LABEL=image.png" other.png ...
"""
import sys

import numpy as np
from PIL import Image



def laplacian(grey):
    """|Laplacian|, edge pixels repeated (as `neurotex measure`)."""
    p = np.pad(grey, 1, mode="edge")
    return np.abs(p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * grey)


def side_ratios(values):
    """Each side's band mean over the interior's: left, right, top, bottom."""
    h, w = values.shape
    bw, bh = max(1, w // 32), max(1, h // 32)
    inside = values[bh : h - bh, bw : w - bw].mean()
    bands = [values[:, :bw], values[:, w - bw :], values[:bh, :], values[h - bh :, :]]
    return [band.mean() / inside for band in bands]


def main():
    print("| image | detail L / R / T / B | saturation L / R / T / B |")
    print("|---|---|---|")
    for arg in sys.argv[1:]:
        label, _, path = arg.rpartition("=")
        rgb = np.asarray(Image.open(path).convert("RGB")).astype(float) / 255
        detail = side_ratios(laplacian(rgb @ [0.299, 0.587, 0.114]))
        saturation = side_ratios(rgb.max(2) - rgb.min(2))
        row = [" / ".join(f"{r:.2f}" for r in ratios) for ratios in (detail, saturation)]
        print(f"| {label or path} | {row[0]} | {row[1]} |")


if __name__ == "__main__":
    main()
