"""The sheet and table of scripts/compare_embark.sh: per row (fill, guided; 256², 512²) the
input, EmbarkStudios texture-synthesis' result and neurotex's, and the seconds each took."""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

out = sys.argv[1]
times = dict(line.split() for line in open(f"{out}/times.txt"))


def img(name):
    return mpimg.imread(f"{out}/{name}.png")[..., :3]


rows = []
for s in (256, 512):
    holes = img(f"photo{s}").copy()
    holes[img(f"mask{s}")[..., 0] > 0.5] = [1.0, 0.0, 1.0]
    rows.append((f"fill {s}²", holes, f"fill{s}"))
    rows.append((f"guided {s * 3 // 2}x{s}", img(f"go{s}"), f"guided{s}"))
fig, axes = plt.subplots(len(rows), 3, figsize=(12, 3.2 * len(rows)))
for row, (label, first, key) in zip(axes, rows):
    for ax, (title, picture) in zip(row, [
            (f"{label}: input", first),
            (f"Embark texture-synthesis, {float(times['embark_' + key]):.1f} s", img(f"embark_{key}")),
            (f"neurotex, {float(times['neurotex_' + key]):.1f} s", img(f"neurotex_{key}"))]):
        ax.imshow(np.clip(picture, 0, 1))
        ax.set_title(title, fontsize=10)
        ax.axis("off")
fig.tight_layout()
fig.savefig(f"{out}/compare_embark.png", dpi=80)
with open(f"{out}/compare_embark.md", "w") as f:
    f.write("| task | Embark texture-synthesis 0.8.3, s | neurotex, s |\n|---|---|---|\n")
    for label, _, key in rows:
        f.write(f"| {label} | {float(times['embark_' + key]):.1f} | "
                f"{float(times['neurotex_' + key]):.1f} |\n")
print(f"{out}/compare_embark.png\n{out}/compare_embark.md")
