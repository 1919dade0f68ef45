"""Real test files bundled with pydicom and nibabel, read offline (skipped only when genuinely not bundled)."""
from __future__ import annotations

from pathlib import Path

import pytest


def pydicom_file(name: str) -> Path:
    """A file of pydicom's bundled test data (never downloaded); the test is skipped when it is not bundled."""
    from pydicom.data import get_testdata_file

    found = get_testdata_file(name, download=False)
    if found is None:
        pytest.skip(f"pydicom test file {name} is not bundled with this pydicom (it would need a download)")
    return Path(found)


def nibabel_file(name: str) -> Path:
    """A file of nibabel's bundled test data."""
    from nibabel.testing import data_path

    path = Path(data_path) / name
    if not path.exists():
        pytest.skip(f"nibabel test file {name} is not bundled")
    return path
