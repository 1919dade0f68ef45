"""The installed console script, as users run it: every CLI test goes through ``halluview-cli`` itself."""
from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

CLI = shutil.which("halluview-cli")


def run_cli(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """``halluview-cli ARGS`` in a subprocess: its exit code, stdout and stderr (text)."""
    if CLI is None:
        raise RuntimeError("halluview-cli is not on PATH: install the package (pip install -e .)")
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout, **kwargs)


def run_many(cases: dict[str, list[str]], workers: int = 4, **kwargs) -> dict[str, subprocess.CompletedProcess]:
    """Several runs at once (each is mostly torch's import): {name: completed process}."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(lambda item: (item[0], run_cli(*item[1], **kwargs)), cases.items()))
