"""Generic HDF5 datasets and NumPy .npy / .npz arrays."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from halluview.core.io import ScanReadError, list_contents, read_scan


def test_npy_2d_is_one_slice_and_3d_is_slices_first(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(12, dtype=np.int32).reshape(3, 4))
    np.save(tmp_path / "b.npy", np.ones((5, 3, 4)))
    assert read_scan(tmp_path / "a.npy").volume.shape == (1, 3, 4)
    scan = read_scan(tmp_path / "b.npy")
    assert scan.volume.shape == (5, 3, 4) and scan.volume.dtype == np.float32


def test_content_not_the_name_decides_the_format(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((3, 4)))
    disguised = tmp_path / "scan.dcm"
    disguised.write_bytes((tmp_path / "a.npy").read_bytes())
    assert read_scan(disguised).meta["format"] == "NumPy"


def test_npz_lists_arrays_and_reads_the_chosen_one(tmp_path):
    path = tmp_path / "bundle.npz"
    np.savez(path, image=np.ones((2, 3, 4)), labels=np.array(["a"]), flat=np.zeros((6, 5)), line=np.ones(7))
    assert [choice.key for choice in list_contents(path)] == ["image", "flat"]
    assert read_scan(path).volume.shape == (2, 3, 4)
    assert read_scan(path, dataset="flat").volume.shape == (1, 6, 5)
    with pytest.raises(ScanReadError, match=r"array 'line' is 1-D \(7\)"):
        read_scan(path, dataset="line")


def test_complex_arrays_show_the_magnitude(tmp_path):
    np.save(tmp_path / "c.npy", np.full((2, 3), 3 + 4j, np.complex64))
    scan = read_scan(tmp_path / "c.npy")
    np.testing.assert_array_equal(scan.volume, np.full((1, 2, 3), 5.0, np.float32))
    assert any("magnitude" in note for note in scan.meta["warnings"])


def test_object_and_4d_arrays_are_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.save(tmp_path / "four.npy", np.ones((2, 2, 2, 2)))
    with pytest.raises(ScanReadError):
        read_scan(tmp_path / "o.npy")
    with pytest.raises(ScanReadError, match="4-D"):
        read_scan(tmp_path / "four.npy")


def test_generic_hdf5_lists_numeric_2d_and_3d_datasets(tmp_path):
    path = tmp_path / "generic.h5"
    with h5py.File(path, "w") as handle:
        handle["group/volume"] = np.arange(2 * 4 * 5, dtype=np.uint16).reshape(2, 4, 5)
        handle["plane"] = np.ones((6, 7), np.float64)
        handle["names"] = np.array([b"x", b"y"])
        handle["tiny"] = np.ones((1, 1))
    assert [choice.key for choice in list_contents(path)] == ["group/volume", "plane"]
    scan = read_scan(path, dataset="group/volume")
    np.testing.assert_array_equal(scan.volume, np.arange(40, dtype=np.float32).reshape(2, 4, 5))
    assert read_scan(path, dataset="plane").volume.shape == (1, 6, 7)


def test_hdf5_without_a_numeric_dataset_is_refused(tmp_path):
    path = tmp_path / "text.h5"
    with h5py.File(path, "w") as handle:
        handle["names"] = np.array([b"x", b"y"])
        handle.attrs["note"] = "nothing to see"
    with pytest.raises(ScanReadError, match="no numeric 2-D or 3-D dataset"):
        read_scan(path)
    with pytest.raises(ScanReadError, match="no numeric 2-D or 3-D dataset"):
        list_contents(path)


def test_float64_beyond_float32_range_is_clipped_not_infinite(tmp_path):
    np.save(tmp_path / "big.npy", np.array([[1e300, -1e300], [0.0, 1.0]]))
    scan = read_scan(tmp_path / "big.npy")
    assert np.isfinite(scan.volume).all() and scan.volume.max() == np.finfo(np.float32).max
