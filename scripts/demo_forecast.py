#!/usr/bin/env python3
"""For `make demo`: the error of engram's forecast of the held-out year, beside naive ones.

usage: demo_forecast.py TRAIN.csv HELDOUT.csv FORECAST.json
Both CSVs have a header `date,co2`; blank co2 cells are missing and are left out of the error.
"""

import csv
import json
import sys


def series(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [(r["date"], float(r["co2"]) if r["co2"].strip() else None) for r in rows]


def mean_absolute_error(predicted, actual):
    pairs = [(p, a) for p, (_, a) in zip(predicted, actual) if a is not None]
    return sum(abs(p - a) for p, a in pairs) / len(pairs), len(pairs)


def main():
    train, held = series(sys.argv[1]), series(sys.argv[2])
    with open(sys.argv[3]) as f:
        forecast = json.load(f)["forecast"]["co2"]
    observed = [v for _, v in train if v is not None]
    last_value = [observed[-1]] * len(held)
    seasonal = [v if v is not None else observed[-1] for _, v in train[-len(held):]]

    engram_mae, n = mean_absolute_error(forecast, held)
    naive_mae, _ = mean_absolute_error(last_value, held)
    seasonal_mae, _ = mean_absolute_error(seasonal, held)
    print(f"\nforecast of the held-out {len(held)} weeks ({n} observed), mean absolute error in ppm:")
    print(f"  engram (analog forecast)            {engram_mae:7.3f}")
    print(f"  naive: last observed value          {naive_mae:7.3f}")
    print(f"  naive: same week one year earlier   {seasonal_mae:7.3f}")
    print(f"  engram / last-value error ratio     {engram_mae / naive_mae:7.3f}")


if __name__ == "__main__":
    main()
