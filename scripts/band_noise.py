"""How much of a band ratio is chance (docs/quality.md, "How noisy the band ratios are").

`neurotex measure` compares the outermost band (1/32 of each side) with the interior. On a
tileable image (`--tile`) no position is special, so the band can be put anywhere: rolling the
image by random offsets moves other pixels into it, and the spread of the ratios over the rolls
is what the measure reads by chance alone, for that texture at that size. The last column is
the share of rolls whose detail or saturation falls outside 0.90-1.10 (issue 24's aim): how often
a result with no edges at all would miss it.

    .venv/bin/python scripts/band_noise.py RESULT.png [...]   # tileable results (--tile)
"""

import sys

import matplotlib.image as mpimg
import numpy as np

BAND = 32  # src/metrics.rs BORDER_BAND
ROLLS = 40


def band_ratios(rgb):
    """Band detail and saturation over the interior's, as src/metrics.rs border_ratios: mean
    |Laplacian| of the luminance (edge pixels repeated) and mean max - min over R, G, B (without
    its floor for grey images, whose saturation ratio is noise)."""
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    p = np.pad(luma, 1, mode="edge")
    laplacian = np.abs(p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * luma)
    saturation = rgb.max(-1) - rgb.min(-1)
    h, w = luma.shape
    bh, bw = max(h // BAND, 1), max(w // BAND, 1)
    band = np.zeros((h, w), bool)
    band[:bh] = band[-bh:] = True
    band[:, :bw] = band[:, -bw:] = True
    return (laplacian[band].mean() / laplacian[~band].mean(),
            saturation[band].mean() / saturation[~band].mean())


def main(paths):
    rng = np.random.default_rng(0)
    print("| image | as written | detail, rolled: mean ± sd [min, max] "
          "| saturation, rolled: mean ± sd [min, max] | rolls outside 0.90-1.10 |")
    print("|---|---|---|---|---|")
    for path in paths:
        rgb = mpimg.imread(path)[..., :3].astype(np.float64)
        h, w, _ = rgb.shape
        rolled = np.array([
            band_ratios(np.roll(rgb, (rng.integers(h), rng.integers(w)), axis=(0, 1)))
            for _ in range(ROLLS)
        ])
        detail, saturation = band_ratios(rgb)
        cells = [f"{r.mean():.2f} ± {r.std():.2f} [{r.min():.2f}, {r.max():.2f}]"
                 for r in rolled.T]
        outside = np.mean(np.any(np.abs(rolled - 1) > 0.10, axis=1))
        print(f"| {path} | {detail:.2f} / {saturation:.2f} | {cells[0]} | {cells[1]} "
              f"| {outside:.0%} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
