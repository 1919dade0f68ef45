"""The format libraries (h5py, nibabel, pydicom) load with the first file of their format, not with the package,
and PIL with the first figure: the app's window opens without them (cold start), and every format is still found
in the documented order."""
import os
import subprocess
import sys

import numpy as np
import pytest

from halluview.core.io.registry import READERS

FORMAT_LIBRARIES = ("h5py", "nibabel", "pydicom", "PIL")  # PIL: the figure export


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {FORMAT_LIBRARIES!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True,
                         env={"QT_QPA_PLATFORM": "offscreen", **os.environ})
    return out.stdout.split()


def test_the_package_and_the_window_import_no_format_library():
    assert _loaded_after("import halluview.core.io, halluview.core.problem") == []
    assert _loaded_after("import halluview.gui.app, halluview.gui.main_window") == []
    window = ("from halluview.gui import app\nfrom PySide6.QtWidgets import QApplication\n"
              "from halluview.gui.main_window import MainWindow\nq = QApplication([])\nw = MainWindow()")
    assert _loaded_after(window) == []


def test_a_format_library_loads_with_its_first_file(tmp_path):
    path = tmp_path / "scan.npy"
    np.save(path, np.ones((4, 4), np.float32))
    code = f"from halluview.core.io import read_scan\nread_scan({str(path)!r})"
    assert _loaded_after(code) == []  # NumPy needs none of them
    assert "nibabel" in _loaded_after("import nibabel.testing, os\nfrom halluview.core.io import read_scan\n"
                                      "read_scan(os.path.join(nibabel.testing.data_path, 'example4d.nii.gz'))")


def test_the_sniffing_order_is_the_documented_one():
    assert [reader.name for reader in READERS] == ["NumPy", "HDF5", "NIfTI", "DICOM"]


@pytest.mark.parametrize("name", ["read_hdf5", "read_nifti", "read_dicom"])
def test_a_reader_on_first_use_is_named_after_its_function(name):
    assert name in {reader.read.__name__ for reader in READERS}


def test_writers_come_from_the_package_on_first_use():
    import halluview.core.io as io
    from halluview.core.io import write_dicom_series, write_npz
    from halluview.core.io.writers import write_npz as written_by

    assert write_npz is written_by and callable(write_dicom_series)
    with pytest.raises(AttributeError, match="write_nothing"):
        io.write_nothing  # noqa: B018
