#!/usr/bin/env python3
"""For `make demo`: how many completions are close to the true images.

usage: demo_score.py TRUTH.csv ANSWERS.jsonl
TRUTH.csv has one true image per line (64 values, then the label); ANSWERS.jsonl has one
`engram --json complete --csv` document per line, in the same order. Prints "recovered/total",
where recovered means a cosine similarity of at least 0.9 to the true image.
"""

import json
import math
import sys


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms > 0 else 0.0


def main():
    with open(sys.argv[1]) as f:
        truth = [[float(v) for v in line.split(",")[:64]] for line in f if line.strip()]
    with open(sys.argv[2]) as f:
        answers = [json.loads(line) for line in f if line.strip()]
    if len(answers) != len(truth):
        sys.exit(f"demo_score: {len(answers)} answers for {len(truth)} queries")
    recovered = sum(cosine(a["pattern"], t) >= 0.9 for a, t in zip(answers, truth))
    print(f"{recovered}/{len(truth)}")


if __name__ == "__main__":
    main()
