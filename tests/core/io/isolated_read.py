"""Run one read in a child process and report its outcome and peak memory (a crash or hang stays contained).

``isolated(code_lines, env)`` runs Python code that sets ``result`` (anything JSON-able) in a fresh interpreter with
an address-space cap (so an unfixed bomb fails the test instead of exhausting the machine) and a timeout, and returns
``IsolatedRun(returncode, result, peak_rss_mib, stderr)``; the peak is the child's own high-water mark of resident
memory (``VmHWM``; ``ru_maxrss`` where there is no /proc).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

#: The child's address space cap: far above what a refused read needs, far below what the bombs inflate to.
ADDRESS_SPACE_CAP_BYTES = 6 * 1024**3
TIMEOUT_S = 120

_PRELUDE = """
import json, resource, sys, warnings
warnings.simplefilter("error")
result = None
"""
_EPILOGUE = """
try:  # VmHWM is this process's own peak; ru_maxrss after fork + exec may report the parent's (Linux keeps it)
    with open("/proc/self/status") as status:
        peak_mib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
except (OSError, StopIteration):
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("@@RESULT@@" + json.dumps({"result": result, "peak_mib": peak_mib}))
"""


@dataclass(frozen=True)
class IsolatedRun:
    returncode: int
    result: Any
    peak_rss_mib: float
    stderr: str


def _cap_address_space() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP_BYTES, ADDRESS_SPACE_CAP_BYTES))


def isolated(code: str, env: dict[str, str] | None = None, cap: bool = True) -> IsolatedRun:
    """Run ``code`` (which sets ``result``) in a child interpreter; see the module docstring."""
    source = _PRELUDE + textwrap.dedent(code) + _EPILOGUE
    try:
        completed = subprocess.run(
            [sys.executable, "-c", source], capture_output=True, text=True, timeout=TIMEOUT_S,
            env={**os.environ, **(env or {})}, preexec_fn=_cap_address_space if cap else None,
        )
    except subprocess.TimeoutExpired as expired:
        return IsolatedRun(-1, None, float("nan"), f"timed out after {TIMEOUT_S} s: {expired.stderr!r}")
    marker = [line for line in completed.stdout.splitlines() if line.startswith("@@RESULT@@")]
    if not marker:
        return IsolatedRun(completed.returncode, None, float("nan"), completed.stderr[-3000:])
    payload = json.loads(marker[-1][len("@@RESULT@@"):])
    return IsolatedRun(completed.returncode, payload["result"], payload["peak_mib"], completed.stderr[-3000:])


def read_outcome_code(path: str, **choices: Any) -> str:
    """Child code: ``result`` = ["scan", first voxels] or ["error", reason] for ``read_scan(path, **choices)``."""
    return f"""
from halluview.core.io import ScanReadError, read_scan
import numpy as np
try:
    scan = read_scan({path!r}, **{choices!r})
    result = ["scan", np.asarray(scan.volume).ravel()[:8].tolist()]
except ScanReadError as error:
    result = ["error", error.reason, {path!r} in str(error)]
"""
