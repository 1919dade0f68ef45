"""Generated DICOM series: sorting, grouping, geometry, rescale, mixed series and the memory limit."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest
from dicom_fixture import ct_dataset, ramp_volume, write_ct_series

import halluview.core.io as scan_io
from halluview.core.io import ScanReadError, list_contents, read_scan

SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)


def test_shuffled_series_is_sorted_along_the_normal_with_hu_and_geometry(tmp_path):
    stored = ramp_volume(6, 12, 10)
    write_ct_series(tmp_path, stored, spacing=(1.25, 0.7, 0.8), origin=(-100, -120, 50))
    scan = read_scan(tmp_path)
    np.testing.assert_array_equal(scan.volume, stored.astype(np.float32) - 1024)
    assert scan.spacing_mm == pytest.approx((1.25, 0.7, 0.8))
    assert (scan.orientation, scan.modality, scan.units, scan.window) == ("SPL", "CT", "HU", (40.0, 400.0))
    assert "PatientName" not in scan.meta and "Doe" not in repr(scan.meta)
    lps_of_voxel = np.diag([-1, -1, 1, 1]) @ scan.affine @ np.array([3, 2, 5, 1.0])
    np.testing.assert_allclose(lps_of_voxel[:3], [-100 + 5 * 0.8, -120 + 2 * 0.7, 50 + 3 * 1.25])


@pytest.mark.parametrize(("orientation", "codes"), [(SAGITTAL, "RIP"), (CORONAL, "PIL")])
def test_non_axial_series_sort_along_their_normal(tmp_path, orientation, codes):
    stored = ramp_volume(5, 8, 9)
    write_ct_series(tmp_path, stored, orientation=orientation)
    scan = read_scan(tmp_path)
    np.testing.assert_array_equal(scan.volume, stored.astype(np.float32) - 1024)
    assert scan.orientation == codes


def test_without_positions_instance_number_orders_the_slices(tmp_path):
    stored = ramp_volume(4, 6, 6)
    write_ct_series(tmp_path, stored, positions=False)
    scan = read_scan(tmp_path)
    np.testing.assert_array_equal(scan.volume, stored[::-1].astype(np.float32) - 1024)
    assert any("InstanceNumber" in note for note in scan.meta["warnings"])
    assert scan.orientation == "" and scan.affine is None


def test_fast_pixel_path_matches_pydicom_pixel_array(tmp_path):
    stored = ramp_volume(3, 7, 5).astype(np.uint16)
    paths = write_ct_series(tmp_path, stored, slope=0.5, intercept=-10.0, shuffle_seed=None)
    scan = read_scan(tmp_path)
    independent = [pydicom.dcmread(p).pixel_array * 0.5 - 10.0 for p in paths]
    np.testing.assert_array_equal(scan.volume, np.stack(independent).astype(np.float32))


def test_two_series_in_one_folder_are_listed_largest_first(tmp_path):
    write_ct_series(tmp_path / "a", ramp_volume(3, 8, 8), series_uid="1.2.3.1")
    write_ct_series(tmp_path / "b", ramp_volume(5, 8, 8), series_uid="1.2.3.2")
    contents = list_contents(tmp_path)
    assert [choice.key for choice in contents] == ["1.2.3.2", "1.2.3.1"]
    assert contents[0].shape == (5, 8, 8) and "5 image(s) 8×8" in contents[0].label
    assert read_scan(tmp_path).volume.shape == (5, 8, 8)
    assert read_scan(tmp_path, series="1.2.3.1").volume.shape == (3, 8, 8)


def test_a_series_mixing_image_sizes_is_split_and_the_plain_uid_refused(tmp_path):
    write_ct_series(tmp_path / "big", ramp_volume(4, 8, 8), series_uid="1.2.3.9")
    write_ct_series(tmp_path / "small", ramp_volume(2, 6, 6), series_uid="1.2.3.9")
    keys = [choice.key for choice in list_contents(tmp_path)]
    assert keys == ["1.2.3.9#1", "1.2.3.9#2"]
    assert read_scan(tmp_path, series="1.2.3.9#2").volume.shape == (2, 6, 6)
    with pytest.raises(ScanReadError, match="mixes image sizes"):
        read_scan(tmp_path, series="1.2.3.9")


def test_damaged_and_foreign_files_in_a_folder_are_skipped_with_a_note(tmp_path):
    paths = write_ct_series(tmp_path, ramp_volume(4, 8, 8))
    (tmp_path / "notes.txt").write_text("not an image")
    damaged = tmp_path / "zz_damaged.dcm"
    damaged.write_bytes(paths[0].read_bytes()[:200])
    scan = read_scan(tmp_path)
    assert scan.volume.shape == (4, 8, 8)
    assert any("no image" in note or "damaged" in note for note in scan.meta["warnings"]), scan.meta["warnings"]


def test_series_larger_than_the_limit_is_refused_before_decoding(tmp_path, monkeypatch):
    write_ct_series(tmp_path, ramp_volume(3, 16, 16))
    with pytest.raises(ScanReadError, match=r"3×16×16.*limit"):
        read_scan(tmp_path, max_bytes=1000)
    monkeypatch.setattr(scan_io, "MAX_VOLUME_BYTES", 2000)
    with pytest.raises(ScanReadError, match="2.0 KiB limit"):
        read_scan(tmp_path)


def test_a_header_claiming_more_frames_than_its_pixel_data_is_refused_at_once(tmp_path):
    dataset = ct_dataset(np.zeros((4, 4), np.int16), position=(0, 0, 0), series_uid="1.2.3", instance=1)
    dataset.Rows, dataset.Columns, dataset.NumberOfFrames = 400, 400, 5000
    path = tmp_path / "short.dcm"
    dataset.save_as(path, enforce_file_format=True)
    with pytest.raises(ScanReadError, match="5000 frame.*pixel data holds 32 bytes"):
        read_scan(path)


def test_a_compressed_header_claiming_a_huge_volume_is_refused_with_its_size(tmp_path):
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEG2000

    dataset = ct_dataset(np.zeros((4, 4), np.int16), position=(0, 0, 0), series_uid="1.2.3", instance=1)
    dataset.Rows, dataset.Columns, dataset.NumberOfFrames = 40000, 40000, 50
    dataset.file_meta.TransferSyntaxUID = JPEG2000
    dataset.PixelData = encapsulate([b"\0" * 32] * 50)
    path = tmp_path / "huge.dcm"
    dataset.save_as(path, enforce_file_format=True)
    with pytest.raises(ScanReadError) as caught:
        read_scan(path)
    assert "298.0 GiB" in str(caught.value) and "50×40000×40000" in str(caught.value)


def test_one_pixel_image_is_refused(tmp_path):
    dataset = ct_dataset(np.zeros((1, 1), np.int16), position=(0, 0, 0), series_uid="1.2.3", instance=1)
    path = tmp_path / "dot.dcm"
    dataset.save_as(path, enforce_file_format=True)
    with pytest.raises(ScanReadError, match="only 1×1 pixels"):
        read_scan(path)


def test_images_sharing_a_position_are_noted(tmp_path):
    stored = ramp_volume(2, 6, 6)
    write_ct_series(tmp_path / "echo1", stored, series_uid="1.2.3.7", shuffle_seed=None)
    write_ct_series(tmp_path / "echo2", stored, series_uid="1.2.3.7", shuffle_seed=None)
    scan = read_scan(tmp_path)
    assert scan.volume.shape == (4, 6, 6)
    assert any("share a slice position" in note for note in scan.meta["warnings"])


def test_a_truncated_image_of_the_chosen_series_is_named_in_the_error(tmp_path):
    paths = write_ct_series(tmp_path, ramp_volume(4, 8, 8), shuffle_seed=None)
    paths[2].write_bytes(paths[2].read_bytes()[:-40])
    with pytest.raises(ScanReadError, match=paths[2].name):
        read_scan(tmp_path)


def test_enhanced_multiframe_uses_functional_groups(tmp_path):
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    frames = ramp_volume(3, 6, 5)
    dataset = ct_dataset(frames[0], position=None, orientation=None, series_uid="1.2.3.8", instance=1,
                         slope=1.0, intercept=0.0)
    del dataset.RescaleSlope, dataset.RescaleIntercept, dataset.PixelSpacing
    order = [2, 0, 1]  # frame f holds slice order[f]
    dataset.NumberOfFrames = 3
    dataset.PixelData = np.ascontiguousarray(frames[order]).tobytes()
    shared = Dataset()
    shared.PixelMeasuresSequence = Sequence([Dataset()])
    shared.PixelMeasuresSequence[0].PixelSpacing = [0.9, 0.6]
    shared.PlaneOrientationSequence = Sequence([Dataset()])
    shared.PlaneOrientationSequence[0].ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    shared.PixelValueTransformationSequence = Sequence([Dataset()])
    shared.PixelValueTransformationSequence[0].RescaleSlope = 2
    shared.PixelValueTransformationSequence[0].RescaleIntercept = -1000
    dataset.SharedFunctionalGroupsSequence = Sequence([shared])
    per_frame = []
    for slice_index in order:
        item = Dataset()
        item.PlanePositionSequence = Sequence([Dataset()])
        item.PlanePositionSequence[0].ImagePositionPatient = [0.0, 0.0, 4.0 * slice_index]
        per_frame.append(item)
    dataset.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    path = tmp_path / "enhanced.dcm"
    dataset.save_as(path, enforce_file_format=True)
    scan = read_scan(path)
    np.testing.assert_array_equal(scan.volume, frames.astype(np.float32) * 2 - 1000)
    assert scan.spacing_mm == pytest.approx((4.0, 0.9, 0.6)) and scan.orientation == "SPL"
