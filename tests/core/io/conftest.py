"""Scan I/O tests: puts the test-data generators (tests/data) on the import path."""
from __future__ import annotations

import sys
from pathlib import Path

TEST_DATA = Path(__file__).resolve().parents[2] / "data"
if str(TEST_DATA) not in sys.path:
    sys.path.insert(0, str(TEST_DATA))

