"""Benchmark: reading a 300-slice 512×512 CT series with ``read_scan`` versus a bare pydicom loop.

Writes a generated int16 CT series (RescaleIntercept -1024, shuffled file names) to a temporary folder, then
times, as medians over interleaved repeats after one warm-up round:

* bare loop: ``pydicom.dcmread(f).pixel_array`` for every file (no sorting, no rescale, int16 arrays);
* ``read_scan(folder)``: headers, grouping, sorting along the slice normal, decoding, rescale to float32 HU;
* first slice: the bare loop's first file vs ``read_scan(folder).slice_image(0)`` (``read_scan`` must see every
  header before it knows which slice comes first, so it cannot answer as early as reading one file);
* ``list_contents(folder)``: the series chooser (headers only).

Medians and best times are printed. On virtual machines the first touch of the one large float32 volume (page
faults, transparent huge pages) can dominate and vary a lot between runs; the best times show the cost of the
reading itself.

Usage: ``python benchmarks/load_series.py [--slices 300] [--size 512] [--repeats 5]``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "data"))
from dicom_fixture import write_ct_series  # noqa: E402

from halluview.core.io import list_contents, read_scan  # noqa: E402

GOAL_FULL_VOLUME_RATIO = 1.5


def seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    del result
    return elapsed


def write_series(folder: Path, n_slices: int, size: int) -> list[Path]:
    stored = np.random.default_rng(0).integers(0, 2500, size=(n_slices, size, size), dtype=np.int16)
    return sorted(write_ct_series(folder, stored, spacing=(1.25, 0.7, 0.7)))


def measure(folder: Path, files: list[Path], repeats: int) -> dict[str, list[float]]:
    actions: dict[str, Callable[[], object]] = {
        "bare_full": lambda: [pydicom.dcmread(f).pixel_array for f in files],
        "read_scan_full": lambda: read_scan(folder).volume,
        "bare_first": lambda: pydicom.dcmread(files[0]).pixel_array,
        "read_scan_first": lambda: read_scan(folder).slice_image(0),
        "list_contents": lambda: list_contents(folder),
    }
    for action in actions.values():
        seconds(action)  # warm-up: imports, file cache, first large allocations
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            samples[name].append(seconds(action))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="halluview-bench-") as temporary:
        folder = Path(temporary)
        start = time.perf_counter()
        files = write_series(folder, options.slices, options.size)
        print(f"wrote {len(files)} files {options.size}×{options.size} in {time.perf_counter() - start:.1f} s")
        samples = measure(folder, files, options.repeats)
    for summary, reduce in (("median", statistics.median), ("best", min)):
        print(f"-- {summary} of {options.repeats} runs --")
        report({name: reduce(values) for name, values in samples.items()})


def report(times: dict[str, float]) -> None:
    full_ratio = times["read_scan_full"] / times["bare_full"]
    verdict = "met" if full_ratio <= GOAL_FULL_VOLUME_RATIO else "NOT met"
    print(f"bare pydicom loop, full volume : {times['bare_full']:.3f} s")
    print(f"read_scan, full volume         : {times['read_scan_full']:.3f} s   ratio {full_ratio:.2f} "
          f"(goal <= {GOAL_FULL_VOLUME_RATIO}: {verdict})")
    print(f"bare pydicom, first file       : {times['bare_first'] * 1000:.1f} ms")
    print(f"read_scan, first slice         : {times['read_scan_first']:.3f} s   ratio "
          f"{times['read_scan_first'] / times['bare_first']:.0f} vs one file, "
          f"{times['read_scan_first'] / times['bare_full']:.2f} vs the full bare loop")
    print(f"list_contents (headers only)   : {times['list_contents']:.3f} s   ratio "
          f"{times['list_contents'] / times['bare_full']:.2f} vs the full bare loop")

if __name__ == "__main__":
    main()
