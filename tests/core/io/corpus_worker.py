"""Subprocess that reads corpus files one by one for test_io_corrupt_corpus.py (so a crash or hang is contained).

Protocol: one path per line on stdin; for each, one JSON line on stdout:
``{"path": ..., "outcome": "scan" | "read_error" | "bad_scan" | "other", "detail": ...}``.
Unexpected warnings are errors (``-W error`` semantics), so they show up as ``other``.
"""
from __future__ import annotations

import json
import sys
import traceback
import warnings

import numpy as np

import halluview.core.io as scan_io
from halluview.core.io import ScanReadError, list_contents, read_scan

#: The corpus never needs more; a corrupted header claiming a large volume must be refused, not allocated.
scan_io.MAX_VOLUME_BYTES = 256 * 1024**2


def problem_with(scan) -> str | None:
    """Why a returned Scan is not valid (None when it is)."""
    volume = np.asarray(scan.volume)
    if volume.dtype != np.float32 or volume.ndim != 3:
        return f"volume is {volume.dtype} {volume.shape}"
    if volume.shape[0] < 1 or min(volume.shape[1:]) < 2:
        return f"volume shape {volume.shape} is below 1×2×2"
    if not np.isfinite(volume).all():
        return "volume has non-finite voxels"
    if scan.kspace is not None:
        np.asarray(scan.kspace[0])
    return None


def outcome_of(path: str) -> dict:
    try:
        contents = list_contents(path)
        if not contents:
            return {"outcome": "other", "detail": "list_contents returned an empty list"}
    except ScanReadError as error:
        if path not in str(error):
            return {"outcome": "other", "detail": f"error does not name the file: {error}"}
    try:
        scan = read_scan(path)
        problem = problem_with(scan)
    except ScanReadError as error:
        if path not in str(error):
            return {"outcome": "other", "detail": f"error does not name the file: {error}"}
        return {"outcome": "read_error", "detail": error.reason}
    return {"outcome": "bad_scan", "detail": problem} if problem else {"outcome": "scan", "detail": ""}


def main() -> None:
    warnings.simplefilter("error")
    warnings.simplefilter("ignore", ResourceWarning)
    for line in sys.stdin:
        path = line.rstrip("\n")
        try:
            result = outcome_of(path)
        except BaseException as error:  # noqa: BLE001 - this is what the test looks for
            result = {"outcome": "other", "detail": "".join(traceback.format_exception(error))[-2000:]}
        print(json.dumps({"path": path, **result}), flush=True)


if __name__ == "__main__":
    main()
