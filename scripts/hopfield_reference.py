#!/usr/bin/env python3
"""Independent numpy reference of Engram's retrieval, for `make bench`.

Written from the math (SPEC section 2), not from the Swift code, in float64 throughout.

usage: hopfield_reference.py FOLDER MODE BETA STEPS
  FOLDER holds bank.txt (one pattern per line), queries.txt and known.txt (1 = known);
  MODE is sparsemax, softmax or entmax:ALPHA. Prints one completed pattern per line.
"""

import sys

import numpy as np


def sparsemax(z):
    s = np.sort(z)[::-1]
    cumulative = np.cumsum(s)
    k = np.arange(1, len(z) + 1)
    support = k[1 + k * s > cumulative]
    kappa = support[-1]
    tau = (cumulative[kappa - 1] - 1) / kappa
    return np.maximum(z - tau, 0)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def entmax15(z):
    z = (z - z.max()) / 2
    s = np.sort(z)[::-1]
    k = np.arange(1, len(z) + 1)
    mean = np.cumsum(s) / k
    mean_sq = np.cumsum(s * s) / k
    ss = k * (mean_sq - mean * mean)
    delta = np.maximum((1 - ss) / k, 0)
    tau = mean - np.sqrt(delta)
    kappa = np.sum(tau <= s)
    p = np.maximum(z - tau[kappa - 1], 0) ** 2
    return p / p.sum()


def entmax_bisect(z, alpha, iterations=80):
    x = (alpha - 1) * z
    lo, hi = x.max() - 1, x.max() - len(z) ** (1 - alpha)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        mass = np.sum(np.maximum(x - mid, 0) ** (1 / (alpha - 1)))
        if mass >= 1:
            lo = mid
        else:
            hi = mid
    p = np.maximum(x - lo, 0) ** (1 / (alpha - 1))
    return p / p.sum()


def normalizer(mode):
    if mode == "sparsemax":
        return sparsemax
    if mode == "softmax":
        return softmax
    alpha = float(mode.split(":")[1])
    if alpha == 1.5:
        return entmax15
    return lambda z: entmax_bisect(z, alpha)


def complete(bank, query, known, separate, beta, steps):
    x = np.where(known, query, 0.0)
    previous = None
    for _ in range(steps):
        p = separate(beta * (bank @ x))
        x = np.where(known, query, bank.T @ p)
        if previous is not None and np.max(np.abs(p - previous)) == 0:
            break
        previous = p
    return x


def main():
    folder, mode, beta, steps = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    bank = np.loadtxt(f"{folder}/bank.txt", ndmin=2)
    queries = np.loadtxt(f"{folder}/queries.txt", ndmin=2)
    known = np.loadtxt(f"{folder}/known.txt", ndmin=2).astype(bool)
    separate = normalizer(mode)
    for query, mask in zip(queries, known):
        answer = complete(bank, query, mask, separate, beta, steps)
        print(" ".join(repr(float(v)) for v in answer))


if __name__ == "__main__":
    main()
