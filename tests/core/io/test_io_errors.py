"""Bad input: every failure is a ScanReadError naming the file and the problem in plain words."""
from __future__ import annotations

import pickle
import struct

import h5py
import nibabel as nib
import numpy as np
import pytest
from dicom_fixture import ct_dataset

from halluview.core.io import ScanReadError, list_contents, read_scan


def reason_for(path, **choices) -> str:
    with pytest.raises(ScanReadError) as caught:
        read_scan(path, **choices)
    assert str(path) in str(caught.value)
    return caught.value.reason


def test_error_names_the_file_and_survives_pickling(tmp_path):
    error = ScanReadError(tmp_path / "x.dcm", "the file is empty")
    assert str(error) == f"Cannot read {tmp_path / 'x.dcm'}: the file is empty"
    assert isinstance(error, Exception) and error.path == str(tmp_path / "x.dcm")
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


def test_missing_path(tmp_path):
    assert reason_for(tmp_path / "nowhere.nii") == "the path does not exist"


def test_a_pipe_is_refused_without_blocking(tmp_path):
    import os

    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    os.mkfifo(tmp_path / "pipe.dcm")
    assert "named pipe (FIFO), not a regular file" in reason_for(tmp_path / "pipe.dcm")


def test_folders_without_images(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "readme.txt").write_text("hello")
    assert "no DICOM image" in reason_for(tmp_path / "empty")
    assert "no DICOM image" in reason_for(tmp_path / "text")
    with pytest.raises(ScanReadError, match="no DICOM image"):
        list_contents(tmp_path / "text")


def test_non_dicom_file_named_dcm_and_empty_file(tmp_path):
    (tmp_path / "report.dcm").write_text("Patient report: nothing to see here. " * 20)
    (tmp_path / "empty.nii").write_bytes(b"")
    assert "name ends like a DICOM file, but the content is not DICOM" in reason_for(tmp_path / "report.dcm")
    assert reason_for(tmp_path / "empty.nii") == "the file is empty"


def test_truncated_files_of_each_format_say_truncated(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((8, 8, 8), np.float32))
    with h5py.File(tmp_path / "a.h5", "w") as handle:
        handle["x"] = np.ones((8, 8, 8))
    noise = np.random.default_rng(0).random((8, 8, 8)).astype(np.float32)
    nib.save(nib.Nifti1Image(noise, np.eye(4)), tmp_path / "a.nii.gz")
    for name in ("a.npy", "a.h5", "a.nii.gz"):
        data = (tmp_path / name).read_bytes()
        (tmp_path / f"cut_{name}").write_bytes(data[: len(data) * 2 // 3])
    (tmp_path / "header_cut.nii.gz").write_bytes((tmp_path / "a.nii.gz").read_bytes()[:60])
    assert "truncated" in reason_for(tmp_path / "cut_a.npy")
    assert "truncated" in reason_for(tmp_path / "cut_a.h5")
    assert "ends early" in reason_for(tmp_path / "cut_a.nii.gz")
    assert "truncated" in reason_for(tmp_path / "header_cut.nii.gz")


def test_corrupt_nifti_header(tmp_path):
    path = tmp_path / "bad.nii"
    nib.save(nib.Nifti1Image(np.ones((4, 4, 4), np.float32), np.eye(4)), path)
    data = bytearray(path.read_bytes())
    struct.pack_into("<h", data, 70, 2048)  # datatype code that does not exist
    path.write_bytes(bytes(data))
    assert "NIfTI header is invalid" in reason_for(path)


def test_empty_and_all_nan_arrays(tmp_path):
    np.save(tmp_path / "none.npy", np.ones((0, 4, 4)))
    np.save(tmp_path / "nan.npy", np.full((2, 3, 3), np.nan))
    assert "no image slice" in reason_for(tmp_path / "none.npy")
    assert "every voxel" in reason_for(tmp_path / "nan.npy")


def test_array_header_claiming_a_huge_volume_is_refused_before_allocating(tmp_path):
    path = tmp_path / "claims.npz"
    np.savez(path, big=np.ones((4, 4, 4), np.float32))
    reason = reason_for(path, max_bytes=100)
    assert "4×4×4" in reason and "256 bytes" in reason and "limit" in reason


def test_a_choice_the_format_does_not_have(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((3, 3)))
    assert "no series= choice" in reason_for(tmp_path / "a.npy", series="1.2.3")


def test_library_warnings_about_the_file_are_recorded_not_raised(tmp_path):
    dataset = ct_dataset(np.zeros((4, 4), np.int16), position=(0, 0, 0), series_uid="1.2.3", instance=1)
    with pytest.warns(UserWarning, match="exceeds the maximum length"):
        dataset.SeriesDescription = "x" * 70
    path = tmp_path / "odd.dcm"
    dataset.save_as(path, enforce_file_format=True)
    scan = read_scan(path)
    assert scan.volume.shape == (1, 4, 4)
    assert any("exceeds the maximum length of 64" in note for note in scan.meta["warnings"])
