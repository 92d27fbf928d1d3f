#!/usr/bin/env python3
"""How the default feature program was chosen: forecast errors on cut-offs before the held-out
periods, replayed with numpy exactly as `engram ingest` + `engram forecast` compute them
(z-score fitted on the first half of the patterns, increment targets, β = 1/√k, sparsemax,
one step; the query's unknown targets are 0 in normalized units).

usage: validate-default.py [DATA_DIR]            validation cut-offs only
       validate-default.py --held-out [DATA_DIR] also the co2 demo's held-out last 52 weeks
                                                 (report only; never choose by it)

Each program is a list of per-channel feature functions mirroring a feature program's lines.
Prints, per program, the mean absolute error and its ratio to the naive last-value forecast:
co2 forecasts of 1996..2000 (made at the end of 1995..1999, horizon 52), sunspots cut-offs
1930..1966 every 3 years (horizon 10; the last 30 years are never used), macrodata realgdp
from all 12 series at 5 cut-offs (horizon 8).
"""

import csv
import math
import os
import sys

import numpy as np


# MARK: - Operators (causal; NaN propagates; windows need every value, like the engine)

def lag(x, k):
    y = np.full_like(x, np.nan)
    y[k:] = x[:-k]
    return y


def diff(x, k=1):
    return x - lag(x, k)


def win(x, k, f):
    y = np.full(len(x), np.nan)
    if len(x) < k:
        return y
    w = np.lib.stride_tricks.sliding_window_view(x, k)
    y[k - 1:] = {"mean": np.mean, "max": np.max, "min": np.min, "sum": np.sum}.get(
        f, lambda w, axis: np.std(w, axis=axis, ddof=1))(w, axis=1)
    return y


def order(o, x):
    for _ in range(o):
        x = diff(x, 1)
    return x


# MARK: - Programs

def v1():
    return ([lambda x, o=o: order(o, x) for o in range(3)]
            + [lambda x, k=k: lag(x, k) for k in (1, 2, 3)]
            + [lambda x, o=o, k=k, f=f: win(order(o, x), k, f)
               for o in range(3) for k in (4, 16) for f in ("mean", "std", "min", "max")])


def weekly_hand_made():
    return ([lambda x, k=k: diff(x, k) for k in (1, 4, 13, 26)]
            + [lambda x, k=k: x - win(x, k, "mean") for k in (4, 16, 52)]
            + [lambda x, k=k, f=f: win(diff(x), k, f) for k in (4, 16) for f in ("mean", "std")])


def momentum(windows=(4, 8, 16, 32), volatility=True):
    return ([lambda x, k=k: diff(x, k) for k in (1,) + tuple(windows)]
            + ([lambda x, k=k: win(diff(x), k, "std") for k in windows] if volatility else []))


def acceleration(spans=(4, 8, 16)):
    return [lambda x, k=k: diff(diff(x, k), k) for k in spans]


def v2():
    return momentum() + acceleration()


# Deviations from rolling means, sub(*,win(*,k,mean)), are computed per channel here; in a
# program two `*` in one template expand to every pair of channels, so the default cannot use
# them (on one channel, as co2 and sunspots, the figures are what engram computes).
PROGRAMS = [
    ("engram-default-v1", v1()),
    ("weekly hand-made (4..52)", weekly_hand_made()),
    ("momentum, no std, d2:*", momentum(volatility=False) + [lambda x: order(2, x)]),
    ("momentum + std, d2:*", momentum() + [lambda x: order(2, x)]),
    ("v2 + x - mean(x,k)", v2() + [lambda x, k=k: x - win(x, k, "mean") for k in (4, 8, 16, 32)]),
    ("v2 + std(x,k)", v2() + [lambda x, k=k: win(x, k, "std") for k in (4, 8, 16, 32)]),
    ("v2 + diff(mean(x,k),k)", v2() + [lambda x, k=k: diff(win(x, k, "mean"), k)
                                       for k in (4, 8, 16, 32)]),
    ("engram-default-v2", v2()),
]


# MARK: - Pipeline

def sparsemax(z):
    s = np.sort(z)[::-1]
    c = np.cumsum(s)
    k = np.arange(1, len(z) + 1)
    kz = k[1 + k * s > c][-1]
    return np.maximum(z - (c[kz - 1] - 1) / kz, 0)


def forecast(channels, target, program, horizon, beta_scale=1.0):
    """The forecast after the last row, or None when that row has a missing feature."""
    features = np.column_stack([f(x) for x in channels.values() for f in program])
    y = channels[target]
    n = len(y)
    complete = ~np.isnan(features).any(axis=1) & ~np.isnan(y)
    rows = np.array([t for t in range(n - horizon)
                     if complete[t] and not np.isnan(y[t + 1:t + horizon + 1]).any()])
    increments = np.column_stack([y[rows + h] - y[rows] for h in range(1, horizon + 1)])
    patterns = np.column_stack([features[rows], increments])
    prefix = patterns[:max(1, len(patterns) // 2)]
    mean, sd = prefix.mean(axis=0), prefix.std(axis=0, ddof=1)
    sd[sd == 0] = 1
    z = (patterns - mean) / sd
    k = features.shape[1]
    if not complete[n - 1]:
        return None
    query = (features[n - 1] - mean[:k]) / sd[:k]
    weights = sparsemax(beta_scale / math.sqrt(k) * (z[:, :k] @ query))
    return (weights @ z[:, k:]) * sd[k:] + mean[k:] + y[n - 1]


def errors(channels, target, cut, program, horizon, beta_scale=1.0):
    """(engram MAE, last-value MAE) forecasting rows cut..cut+horizon−1 from rows < cut."""
    predicted = forecast({c: v[:cut] for c, v in channels.items()}, target, program, horizon,
                         beta_scale)
    if predicted is None:
        return None
    y = channels[target]
    actual = y[cut:cut + horizon]
    seen = ~np.isnan(actual)
    last = y[:cut][~np.isnan(y[:cut])][-1]
    return (np.abs(predicted - actual)[seen].mean(), np.abs(last - actual)[seen].mean())


# MARK: - Data and cut-offs

def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    number = lambda s: float(s) if s.strip() and s.strip().lower() not in ("na", "nan") \
        else math.nan
    return rows, {c: np.array([number(r[c]) for r in rows]) for c in rows[0]}


def main():
    args = sys.argv[1:]
    held_out = "--held-out" in args
    args = [a for a in args if a != "--held-out"]
    data = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "data")

    co2_rows, co2 = read(os.path.join(data, "co2.csv"))
    dates = [int(r["date"]) for r in co2_rows]
    co2_cuts = [max(i for i, d in enumerate(dates) if d <= year * 10000 + 1231) + 1
                for year in range(1995, 2000)]
    sun_rows, sun = read(os.path.join(data, "sunspots.csv"))
    years = [int(r["YEAR"]) for r in sun_rows]
    sun_cuts = [years.index(year) + 1 for year in range(1930, 1969, 3)]
    _, macro = read(os.path.join(data, "macrodata.csv"))
    macro = {c: v for c, v in macro.items() if c not in ("year", "quarter")}
    n = len(macro["realgdp"])
    macro_cuts = range(n - 48, n - 15, 8)

    suites = [
        ("co2 1996..2000", {"co2": co2["co2"]}, "co2", co2_cuts, 52),
        ("sunspots", {"s": sun["SUNACTIVITY"]}, "s", sun_cuts, 10),
        ("macro realgdp", macro, "realgdp", macro_cuts, 8),
    ]
    if held_out:
        suites.append(("co2 held-out", {"co2": co2["co2"]}, "co2", [len(dates) - 52], 52))
    print(f"{'program':28s} {'k':>3s}" + "".join(f" {s[0]:>22s}" for s in suites))
    print(f"{'':32s}" + "".join(f" {'MAE / naive = ratio':>22s}" for _ in suites))
    for name, program in PROGRAMS:
        line = f"{name:28s} {len(program):3d}"
        for _, channels, target, cuts, horizon in suites:
            found = [e for e in (errors(channels, target, c, program, horizon) for c in cuts) if e]
            ours, naive = np.mean([e[0] for e in found]), np.mean([e[1] for e in found])
            line += f" {ours:7.3f} / {naive:6.3f} = {ours / naive:4.2f}"
        print(line)


if __name__ == "__main__":
    main()
