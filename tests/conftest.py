"""Shared test setup: the generated-fixture helpers in tests/data are importable from every test."""
import sys
from pathlib import Path

TEST_DATA = Path(__file__).resolve().parent / "data"
if str(TEST_DATA) not in sys.path:
    sys.path.insert(0, str(TEST_DATA))
