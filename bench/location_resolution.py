"""Measure how long the knowledge index takes to resolve places.

It loads the index from the knowledge database that ``scripts/setup.sh``
filled, then times with time.perf_counter:

- ``resolve_location`` on each message of the labelled set
  ``tests/nlu/data/locations.yml`` taken as a place name;
- ``find_location_in_text`` on each of those messages;
- both on long messages (12,000 characters), which must stay linear.

Each message is timed 20 times; the page gives the median and p95 over all
timings, and the time to load the index. The results go to
bench/location.md.

Usage:
    .venv/bin/python bench/location_resolution.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, List

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import knowledge  # noqa: E402 - after the path set-up above
from knowledge.resolve import find_location_in_text, resolve_location  # noqa: E402

LABELLED_FILE = ROOT / "tests" / "nlu" / "data" / "locations.yml"
PAGE = ROOT / "bench" / "location.md"
REPEATS = 20
LONG_TEXTS = ["Saint Denis " * 1000, "je cherche une formation pas loin " * 360]


def _timings_ms(function: Callable[[object, str], object], index: object, texts: List[str]) -> List[float]:
    timings = []
    for _ in range(REPEATS):
        for text in texts:
            start = time.perf_counter()
            function(index, text)
            timings.append((time.perf_counter() - start) * 1000)
    return timings


def _row(name: str, timings: List[float]) -> str:
    p95 = statistics.quantiles(timings, n=20)[18]
    return f"| {name} | {len(timings)} | {statistics.median(timings):.2f} ms | {p95:.2f} ms | {max(timings):.2f} ms |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()

    start = time.perf_counter()
    index = knowledge.get_index()
    load_seconds = time.perf_counter() - start

    texts = [item["text"] for item in yaml.safe_load(LABELLED_FILE.read_text(encoding="utf-8"))]
    rows = [
        _row("`resolve_location`, labelled messages", _timings_ms(resolve_location, index, texts)),
        _row("`find_location_in_text`, labelled messages", _timings_ms(find_location_in_text, index, texts)),
        _row("`resolve_location`, 12,000 characters", _timings_ms(resolve_location, index, LONG_TEXTS[:1])),
        _row("`find_location_in_text`, 12,000 characters", _timings_ms(find_location_in_text, index, LONG_TEXTS[1:])),
    ]

    measured_on = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    lines = [
        "# Place resolution speed",
        "",
        f"Measured on {measured_on} by `.venv/bin/python bench/location_resolution.py` "
        f"on {platform.processor() or platform.machine()} ({os.cpu_count()} CPUs), in one process; "
        f"load average {os.getloadavg()[0]:.1f} at the end of the run.",
        f"Loading the index of communes, postal codes and places took {load_seconds:.1f} s.",
        f"Each of the {len(texts)} messages of `tests/nlu/data/locations.yml` was timed {REPEATS} times.",
        "",
        "| call | timings | median | p95 | max |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]
    PAGE.write_text("\n".join(lines), encoding="utf-8")
    print(PAGE.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
