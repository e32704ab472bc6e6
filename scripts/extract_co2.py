"""How tui_trainer/data/files/co2_monthly.csv was made, for the record (run once, not at run time).

Input: the weekly Mauna Loa record as statsmodels bundles it
(``statsmodels/datasets/co2/co2.csv``: ``date`` as YYYYMMDD, ``co2`` in ppm, empty for weeks
without data). Output: one row per month, March 1958 to December 2001, with the mean of the
month's weekly values; a month without any value is filled by linear interpolation between
its neighbouring months, and named on stderr.

    python scripts/extract_co2.py path/to/statsmodels/datasets/co2/co2.csv > tui_trainer/data/files/co2_monthly.csv
"""

from __future__ import annotations

import csv
import sys


def main(path: str) -> None:
    sums: dict[tuple[int, int], list[float]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            month = (int(row["date"][:4]), int(row["date"][4:6]))
            values = sums.setdefault(month, [])
            if row["co2"].strip():
                values.append(float(row["co2"]))
    first, last = min(sums), max(sums)
    months = []
    y, m = first
    while (y, m) <= last:
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    means = [sum(sums.get(k, [])) / len(sums[k]) if sums.get(k) else None for k in months]
    for i, value in enumerate(means):
        if value is None:
            lo = max(j for j in range(i) if means[j] is not None)
            hi = min(j for j in range(i + 1, len(means)) if means[j] is not None)
            means[i] = means[lo] + (means[hi] - means[lo]) * (i - lo) / (hi - lo)
            print(f"{months[i][0]}-{months[i][1]:02d}: no weekly value, interpolated {means[i]:.2f}", file=sys.stderr)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["month", "co2"])
    for (y, m), value in zip(months, means):
        out.writerow([f"{y}-{m:02d}", f"{value:.3f}"])


if __name__ == "__main__":
    main(sys.argv[1])
