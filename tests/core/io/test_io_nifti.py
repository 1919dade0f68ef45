"""NIfTI: nibabel's bundled files and synthetic ones; orientation mapping, 4-D choice, scaling, lazy reading."""
from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from io_test_files import nibabel_file

from halluview.core.io import ScanReadError, list_contents, nifti_reader, read_scan
from halluview.core.io.lazy import LazySliceVolume


def display_of_canonical(canonical: np.ndarray) -> np.ndarray:
    """The documented mapping: volume[k, r, c] = canonical[X - 1 - c, Y - 1 - r, k]."""
    return np.transpose(canonical[::-1, ::-1, :], (2, 1, 0))


@pytest.mark.parametrize("name", ["anatomical.nii", "example4d.nii.gz", "example_nifti2.nii.gz", "standard.nii.gz"])
def test_volume_is_the_canonical_array_in_slice_row_column_layout(name):
    path = nibabel_file(name)
    canonical = nib.as_closest_canonical(nib.load(path))
    data = canonical.get_fdata(dtype=np.float64)
    data = data[..., 0] if data.ndim == 4 else data
    scan = read_scan(path)
    np.testing.assert_allclose(scan.volume, display_of_canonical(data), rtol=1e-6)
    zooms = canonical.header.get_zooms()[:3]
    assert scan.spacing_mm == pytest.approx((zooms[2], zooms[1], zooms[0]))
    assert scan.orientation == "SPL" and scan.volume.dtype == np.float32
    shape = data.shape
    for k, r, c in [(0, 0, 0), (shape[2] - 1, 1, 2)]:
        world = canonical.affine @ [shape[0] - 1 - c, shape[1] - 1 - r, k, 1]
        np.testing.assert_allclose(scan.affine @ [k, r, c, 1], world, atol=1e-4)
    assert scan.meta["format"] == ("NIfTI-2" if "nifti2" in name else "NIfTI-1")


def test_4d_file_lists_and_reads_each_volume():
    path = nibabel_file("example4d.nii.gz")
    contents = list_contents(path)
    n_volumes = nib.load(path).shape[3]
    assert [choice.key for choice in contents] == list(range(n_volumes))
    second = read_scan(path, volume=1)
    canonical = nib.as_closest_canonical(nib.load(path)).get_fdata()[..., 1]
    np.testing.assert_allclose(second.volume, display_of_canonical(canonical), rtol=1e-6)
    with pytest.raises(ScanReadError, match=f"has {n_volumes} volume"):
        read_scan(path, volume=n_volumes)
    with pytest.raises(ScanReadError, match="volume="):
        read_scan(path, series="1.2.3")


def write_marker_image(path, affine) -> None:
    """A 3-D image, zero but for a bright voxel at the patient's right-anterior-superior corner (max R + A + S)."""
    shape = (6, 7, 5)
    indices = np.argwhere(np.ones(shape, bool))
    world = (affine @ np.c_[indices, np.ones(len(indices))].T).T[:, :3]
    data = np.zeros(shape, np.float32)
    data[tuple(indices[np.argmax(world.sum(axis=1))])] = 100.0
    nib.save(nib.Nifti1Image(data, affine), path)


@pytest.mark.parametrize("axis_signs", [(1, 1, 1), (-1, -1, 1), (-1, 1, -1)])
def test_images_are_upright_whatever_the_storage_orientation(tmp_path, axis_signs):
    path = tmp_path / "marker.nii"
    write_marker_image(path, np.diag([*axis_signs, 1.0]))
    scan = read_scan(path)
    k, r, c = np.unravel_index(np.argmax(scan.volume), scan.volume.shape)
    assert k == scan.volume.shape[0] - 1, "superior is the last slice"
    assert r == 0, "anterior is the top row"
    assert c == 0, "the patient's right is on the image's left (radiological convention, as DICOM viewers)"


def test_scaling_comes_from_the_header(tmp_path):
    stored = np.arange(4 * 5 * 3, dtype=np.int16).reshape(4, 5, 3)
    image = nib.Nifti1Image(stored, np.eye(4))
    image.header.set_slope_inter(2.0, 10.0)
    path = tmp_path / "scaled.nii.gz"
    nib.save(image, path)
    scan = read_scan(path)
    np.testing.assert_array_equal(scan.volume, display_of_canonical(stored * 2.0 + 10.0))


def test_large_uncompressed_files_are_read_lazily(tmp_path, monkeypatch):
    path = nibabel_file("anatomical.nii")
    eager = read_scan(path)
    monkeypatch.setattr(nifti_reader, "LAZY_NIFTI_BYTES", 0)
    lazy = read_scan(path)
    assert isinstance(lazy.volume, LazySliceVolume) and lazy.volume.shape == eager.volume.shape
    np.testing.assert_array_equal(np.asarray(lazy.volume), eager.volume)
    np.testing.assert_array_equal(lazy.slice_image(3), eager.volume[3])
    np.testing.assert_array_equal(lazy.volume[2:5, 1], eager.volume[2:5, 1])


def test_two_dimensional_nifti_is_one_slice(tmp_path):
    path = tmp_path / "flat.nii"
    nib.save(nib.Nifti1Image(np.arange(20, dtype=np.float32).reshape(4, 5), np.eye(4)), path)
    assert read_scan(path).volume.shape == (1, 5, 4)


def test_truncated_nifti_says_so(tmp_path):
    path = tmp_path / "cut.nii"
    nib.save(nib.Nifti1Image(np.ones((8, 8, 8), np.float32), np.eye(4)), path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ScanReadError, match="truncated"):
        read_scan(path)


def test_nan_and_inf_voxels_are_replaced_and_reported(tmp_path):
    data = np.ones((4, 4, 3), np.float32)
    data[0, 0, 0], data[1, 1, 1], data[2, 2, 2] = np.nan, np.inf, -np.inf
    path = tmp_path / "nan.nii"
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    scan = read_scan(path)
    assert np.isfinite(scan.volume).all()
    assert sorted(np.unique(scan.volume)) == [0.0, 1.0]
    assert any("3 voxel(s)" in note for note in scan.meta["warnings"])
