"""The largest jump between two neighbouring rows of an image, over the median one: a straight
horizontal cut across a texture (the seams `--tile` drew when it wrapped its exemplar,
docs/beyond_the_paper.md) stands out far above 1; most photos read 1.2-1.5 (bricks' rows more).

    .venv/bin/python scripts/row_cut.py IMAGE.png [...]
"""

import sys

import matplotlib.image as mpimg
import numpy as np


def row_cut(rgb):
    luma = rgb[..., :3] @ np.array([0.299, 0.587, 0.114])
    jumps = np.abs(np.diff(luma, axis=0)).mean(axis=1)
    return jumps.max() / np.median(jumps)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        print(f"{path}: {row_cut(mpimg.imread(path).astype(np.float64)):.2f}")
