#!/usr/bin/env python3
"""Quality against time along one run: `neurotex measure` on each last-scale snapshot of a run
made with --snapshot-every and --record, next to the time and loss its record gives for that
iteration. Answers "would fewer iterations at the last scale do?" from one run.

    neurotex synth EX.png -o out/x.png --record out/x.json --size 1024 --snapshot-every 25
    scripts/snapshot_quality.py EX.png out/x.png out/x.json > out/x_quality.md
"""
import glob
import json
import re
import subprocess
import sys


def main():
    exemplar, output, record_path = sys.argv[1:4]
    binary = sys.argv[4] if len(sys.argv) > 4 else "target/release/neurotex"
    record = json.load(open(record_path))
    last = len(record.get("scales", [None])) - 1  # older records: single-scale
    at = {i["iteration"]: i for i in record["iterations"] if i.get("scale", 0) == last}
    stem = output[: -len(".png")]
    snapshots = sorted(
        (int(m.group(1)), path)
        for path in glob.glob(f"{stem}.iter*.png")
        if (m := re.search(r"\.iter(\d+)\.png$", path))
    )
    final = max(at)
    if not snapshots or snapshots[-1][0] != final:
        snapshots.append((final, output))
    images = [path for _, path in snapshots]
    rows = subprocess.run(
        [binary, "measure", "-e", exemplar, *images, "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    # The exemplar's own row comes first.
    measured = json.loads(rows.stdout)["images"][-len(images) :]
    print(
        "| last-scale iteration | pass | seconds | loss | band detail | band saturation "
        "| top octave | gram | interior gram |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for (n, _), m in zip(snapshots, measured):
        it = at.get(n, {})
        print(
            f"| {n} | {it.get('pass') or 'all'} | {it.get('t', float('nan')):.0f} "
            f"| {it.get('loss', float('nan')):.3g} | {m['measures']['border']['detail']:.2f} "
            f"| {m['measures']['border']['saturation']:.2f} | {m['measures']['top_octave']:.2f} "
            f"| {m['gram_distance']:.4f} | {m['interior_gram_distance']:.4f} |"
        )


if __name__ == "__main__":
    main()
