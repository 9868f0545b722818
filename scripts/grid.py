#!/usr/bin/env python3
"""A labelled grid of images, for the pictures in docs/ and the README.

    scripts/grid.py OUT.png --cols 2 --cell 512 "label A=a.png" "label B=b.png" ...

Each argument is LABEL=PATH (or just PATH: labelled by its file name). Images are scaled (Lanczos)
so that their longer side is --cell pixels, never up, and laid out row by row with the label
above each cell. Runs with the project's .venv (Pillow comes with matplotlib).
"""
import argparse

from PIL import Image, ImageDraw, ImageFont

LABEL_HEIGHT = 18
GAP = 6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("cells", nargs="+", help="LABEL=PATH or PATH")
    parser.add_argument("--cols", type=int, default=2)
    parser.add_argument("--cell", type=int, default=512, help="longest side of a cell, pixels")
    args = parser.parse_args()

    cells = []
    for cell in args.cells:
        label, _, path = cell.rpartition("=")
        image = Image.open(path).convert("RGB")
        scale = min(1.0, args.cell / max(image.size))
        if scale < 1.0:
            size = (round(image.width * scale), round(image.height * scale))
            image = image.resize(size, Image.LANCZOS)
        cells.append((label or path.rsplit("/", 1)[-1], image))

    rows = [cells[i : i + args.cols] for i in range(0, len(cells), args.cols)]
    col_width = [
        max(row[c][1].width for row in rows if c < len(row)) for c in range(args.cols)
    ]
    row_height = [LABEL_HEIGHT + max(image.height for _, image in row) for row in rows]
    width = sum(col_width) + GAP * (args.cols + 1)
    height = sum(row_height) + GAP * (len(rows) + 1)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    y = GAP
    for row, h in zip(rows, row_height):
        x = GAP
        for c, (label, image) in enumerate(row):
            draw.text((x, y + 3), label, fill="black", font=font)
            sheet.paste(image, (x, y + LABEL_HEIGHT))
            x += col_width[c] + GAP
        y += h + GAP
    sheet.save(args.out, optimize=True)
    print(f"wrote {args.out} ({width}x{height})")


if __name__ == "__main__":
    main()
