#!/usr/bin/env python3
"""Where a run's time went, from its record (--record): per round (a scale, or a pass at the
last scale), the iterations, evaluations and seconds, and their shares of the optimisation; the
set-up and the upsampling searches besides. Prints a Markdown table.

    scripts/time_breakdown.py out/x.json
"""
import json
import sys


def main():
    record = json.load(open(sys.argv[1]))
    sizes = [f"{s['width']}x{s['height']}" for s in record["scales"]]
    # Each iteration's t is the run's clock when it ended: a round ends at its last one's.
    ended = {}
    for it in record["iterations"]:
        ended[it["round"]] = it["t"]
    total = record["optimize_seconds"]
    print("| scale | layers | iterations | evaluations | seconds | share |")
    print("|---|---|---|---|---|---|")
    before = 0.0
    for r in record["rounds"]:
        seconds = ended.get(r["round"], before) - before
        before += seconds
        layers = f"up to {r['pass']}" if r.get("pass") else "all chosen"
        print(f"| {sizes[r['scale']]} | {layers} | {r['iterations']} | {r['evaluations']} | "
              f"{seconds:.1f} | {100 * seconds / total:.0f}% |")
    up = record["upsampling_seconds"]
    print(f"| | (upsampling searches, in the above) | | | {up:.1f} | {100 * up / total:.0f}% |")
    print(f"| | set-up, before the first evaluation | | | {record['setup_seconds']:.1f} | |")
    print(f"| | the optimisation in all | {len(record['iterations'])} | "
          f"{record['evaluation_count']} | {total:.1f} | 100% |")


if __name__ == "__main__":
    main()
