"""DICOM files shipped with pydicom, read offline, checked against values read independently with pydicom."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest
from io_test_files import pydicom_file

from halluview.core.io import ScanReadError, list_contents, read_scan


def hu_of(path) -> np.ndarray:
    dataset = pydicom.dcmread(path)
    slope, intercept = float(dataset.get("RescaleSlope", 1)), float(dataset.get("RescaleIntercept", 0))
    return dataset.pixel_array.astype(np.float64) * slope + intercept


def test_ct_small_hu_spacing_orientation():
    path = pydicom_file("CT_small.dcm")
    scan = read_scan(path)
    dataset = pydicom.dcmread(path)
    assert scan.volume.shape == (1, 128, 128) and scan.volume.dtype == np.float32
    np.testing.assert_array_equal(scan.volume[0], hu_of(path))
    assert (scan.modality, scan.units, scan.orientation) == ("CT", "HU", "SPL")
    assert scan.spacing_mm == pytest.approx((float(dataset.SliceThickness), *map(float, dataset.PixelSpacing)))
    assert -1100 < scan.volume.min() < scan.volume.max() < 3100
    assert scan.affine is not None
    np.testing.assert_allclose(scan.affine[:3, 3], np.array(dataset.ImagePositionPatient, float) * [-1, -1, 1])


def test_jpeg2000_head_ct_is_decoded_to_hu_with_window():
    path = pydicom_file("693_J2KI.dcm")
    scan = read_scan(path)
    dataset = pydicom.dcmread(path)
    assert scan.volume.shape == (1, 512, 512)
    np.testing.assert_array_equal(scan.volume[0], hu_of(path))
    assert scan.window == (float(dataset.WindowCenter), float(dataset.WindowWidth))
    assert scan.spacing_mm[1:] == pytest.approx(tuple(map(float, dataset.PixelSpacing)))
    assert scan.meta["transfer_syntax"].startswith("JPEG 2000")
    assert scan.volume.min() >= -4096 and scan.volume.max() <= 4096


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_bigendian.dcm",
                                  "MR_small_implicit.dcm", "MR_small_expb.dcm"])
def test_encodings_of_mr_small_agree(name):
    reference = read_scan(pydicom_file("MR_small.dcm"))
    scan = read_scan(pydicom_file(name))
    np.testing.assert_array_equal(scan.volume, reference.volume)
    np.testing.assert_array_equal(reference.volume[0], hu_of(pydicom_file("MR_small.dcm")))
    assert scan.modality == "MR" and scan.units == "a.u."


def test_multiframe_rt_dose_frames_become_sorted_slices():
    path = pydicom_file("rtdose.dcm")
    dataset = pydicom.dcmread(path)
    scan = read_scan(path)
    expected = dataset.pixel_array.astype(np.float64) * float(dataset.DoseGridScaling)
    assert scan.volume.shape == (int(dataset.NumberOfFrames), int(dataset.Rows), int(dataset.Columns))
    np.testing.assert_allclose(scan.volume, expected, rtol=1e-6)
    offsets = np.asarray(dataset.GridFrameOffsetVector, float)
    assert scan.spacing_mm[0] == pytest.approx(np.median(np.diff(offsets)))


def test_multiframe_colour_becomes_grey_slices():
    scan = read_scan(pydicom_file("SC_rgb_rle_2frame.dcm"))
    rgb = pydicom.dcmread(pydicom_file("SC_rgb_rle_2frame.dcm")).pixel_array.astype(np.float32)
    assert scan.volume.shape == (2, 100, 100)
    np.testing.assert_allclose(scan.volume, rgb @ np.array([0.299, 0.587, 0.114], np.float32), rtol=1e-5)
    assert any("colour" in note for note in scan.meta["warnings"])


def test_missing_decoder_names_what_to_install():
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEGLSLossless

    if get_decoder(JPEGLSLossless).is_available:
        pytest.skip("a JPEG-LS decoder is installed here")
    path = pydicom_file("MR_small_jpeg_ls_lossless.dcm")
    with pytest.raises(ScanReadError) as caught:
        read_scan(path)
    assert "pip install pylibjpeg pylibjpeg-libjpeg" in str(caught.value)
    assert str(path) in str(caught.value)


def test_dicomdir_lists_series_and_reads_the_chosen_one():
    path = pydicom_file("DICOMDIR")
    contents = list_contents(path)
    assert len(contents) >= 10 and all(choice.kind == "series" for choice in contents)
    assert contents[0].shape == (5, 16, 16)
    default = read_scan(path)
    assert default.volume.shape == (5, 16, 16) and default.meta["choice"] == contents[0].key
    second = read_scan(path, **contents[1].as_kwargs())
    assert second.volume.shape == contents[1].shape
    positions = sorted(
        float(pydicom.dcmread(p).ImagePositionPatient[2]) for p in (path.parent / "77654033" / "CT2").iterdir()
    )
    assert second.affine[2, 3] == pytest.approx(positions[0])
    with pytest.raises(ScanReadError, match="no series"):
        read_scan(path, series="1.2.3.4")


def test_folder_of_the_dicomdir_gives_the_same_series():
    path = pydicom_file("DICOMDIR")
    from_folder = read_scan(path.parent)
    np.testing.assert_array_equal(from_folder.volume, read_scan(path).volume)


def test_truncated_pixel_data_is_a_scan_read_error():
    with pytest.raises(ScanReadError, match="MR_truncated.dcm"):
        read_scan(pydicom_file("MR_truncated.dcm"))
