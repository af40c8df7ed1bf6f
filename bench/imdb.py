"""IMDB benchmark: train + test one model (same code as `pizarra bench imdb`), or print the table.

    python bench/imdb.py --model nbsvm          # train, choose on val, test once, write reports/imdb.json
    python bench/imdb.py --table                # the table from reports/imdb.json, against the slide

The table's ratios compare each model with the slide's LSTM (81.99 %), measured in the same units.
"""

from __future__ import annotations

import sys

from pizarra.sentiment.bench import main
from pizarra.sentiment.examples import SLIDE_TABLE
from pizarra.sentiment.report import read_report


def table() -> None:
    rows = read_report()["models"]
    base = SLIDE_TABLE["lstm"]
    print(f"{'model':22s} {'test %':>7s} {'slide %':>8s} {'error vs slide LSTM':>20s}  hardware")
    for name, r in rows.items():
        ratio = (100 - r["test_acc"]) / (100 - base)  # < 1: fewer errors than the slide's LSTM
        print(
            f"{name:22s} {r['test_acc']:7.2f} {str(r.get('slide_acc') or '-'):>8s} {ratio:19.2f}x  {r['hardware'][:60]}"
        )


if __name__ == "__main__":
    if "--table" in sys.argv:
        table()
    else:
        main()
