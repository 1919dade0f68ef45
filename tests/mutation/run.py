"""Run the hand-written mutants (tests/mutation/mutants.py): each in a scratch copy of the package, with the tests
it names; a mutant is killed when those tests fail. Prints one line per mutant and the score.

    python -m tests.mutation.run            # all mutants
    python -m tests.mutation.run -k noise   # those whose name contains "noise"
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .mutants import MUTANTS, Mutant

ROOT = Path(__file__).resolve().parents[2]


def apply(mutant: Mutant, root: Path) -> None:
    """Rewrite the mutant's file under ``root``; every ``old`` text must occur exactly once."""
    path = root / mutant.path
    text = path.read_text()
    for old, new in mutant.edits:
        count = text.count(old)
        if count != 1:
            raise ValueError(f"{mutant.name}: {old!r} occurs {count} times in {mutant.path}")
        text = text.replace(old, new)
    path.write_text(text)


def scratch_copy() -> Path:
    """The package and the tests in a temporary folder (resources linked), so mutants never touch the checkout."""
    root = Path(tempfile.mkdtemp(prefix="halluview-mutant-"))
    shutil.copytree(ROOT / "halluview", root / "halluview", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", root / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    (root / "resources").symlink_to(ROOT / "resources")
    return root


def killed(mutant: Mutant, timeout: float) -> tuple[bool, float, str]:
    root = scratch_copy()
    try:
        apply(mutant, root)
        env = {**os.environ, "PYTHONPATH": str(root), "QT_QPA_PLATFORM": "offscreen"}
        started = time.monotonic()
        try:
            done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                   *mutant.tests], cwd=root, env=env, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return True, time.monotonic() - started, "timed out"
        failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
        return done.returncode != 0, time.monotonic() - started, failed[0] if failed else ""
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only mutants whose name contains this text")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per mutant")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if args.k in m.name]
    caught = 0
    for mutant in chosen:
        dead, seconds, evidence = killed(mutant, args.timeout)
        caught += dead
        print(f"{'killed  ' if dead else 'SURVIVED'} {seconds:6.0f} s  {mutant.name}  {evidence}", flush=True)
    print(f"mutation score: {caught}/{len(chosen)} killed")
    return 0 if caught == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
