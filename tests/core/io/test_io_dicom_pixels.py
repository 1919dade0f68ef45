"""DICOM pixel values against pydicom's ``pixel_array`` (the independent reference), pixel by pixel.

Every file of pydicom's test data (and of the pydicom-data package when it is installed) that pydicom decodes here
must load with the same values, rescaled by the same slope and intercept; files pydicom cannot decode here must
be refused with a ScanReadError. Counts of what was compared and skipped are part of the assertion messages.
"""
from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pydicom
import pytest
from make_hostile_files import dicom_1bit, dicom_8bit, dicom_12bit_with_overlay, dicom_deflated
from pydicom.errors import InvalidDicomError

from halluview.core.io import ScanReadError, read_scan
from halluview.core.io.dicom_pixels import stored_bits
from halluview.core.io.dicom_series import group_series

LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)
#: Files whose header pydicom refuses to decode pixels for, which HalluView reads anyway, and why that is right.
LENIENT_READS = {
    "badVR.dcm": "NumberOfFrames is '1A', not a number: one frame is read, and the pixel data holds exactly one",
}


def expected_volume(path: Path) -> np.ndarray:
    """pydicom's ``pixel_array``, frames in the reader's slice order, rescaled like the reader (float32)."""
    dataset = pydicom.dcmread(path)
    pixels = np.asarray(dataset.pixel_array)
    if int(dataset.get("SamplesPerPixel", 1)) == 3:
        pixels = np.tensordot(pixels.astype(np.float32), LUMINANCE, axes=([-1], [0]))
    n_frames = int(dataset.get("NumberOfFrames") or 1)
    frames = pixels.reshape(n_frames, int(dataset.Rows), int(dataset.Columns))
    records = group_series([dataset])[0].records  # the slice order and rescale the reader uses
    return np.stack([frames[record.frame or 0].astype(np.float64) * record.slope + record.intercept
                     for record in records]).astype(np.float32)


def pydicom_test_files() -> list[Path]:
    from pydicom.data import get_testdata_files

    return sorted(Path(name) for name in get_testdata_files("**/*") if Path(name).is_file())


def compare_with_pixel_array(path: Path) -> str:
    """"compared" when the values match; otherwise the category of skip; raises AssertionError on a mismatch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about odd headers in its deliberately odd test files
        try:
            dataset = pydicom.dcmread(path)
        except (InvalidDicomError, OSError, EOFError, ValueError, TypeError, KeyError, AttributeError):
            return "not DICOM"
        if "PixelData" not in dataset:
            return "no pixel data"
        try:
            expected = expected_volume(path)
        except Exception:  # noqa: BLE001 - pydicom cannot decode it here: HalluView must refuse it cleanly
            if path.name in LENIENT_READS:
                assert read_scan(path).volume.shape[0] == 1
                return "pydicom cannot decode here; read by HalluView (LENIENT_READS)"
            with pytest.raises(ScanReadError):
                read_scan(path)
            return "pydicom cannot decode here; refused by HalluView too"
        volume = np.asarray(read_scan(path).volume)
    assert volume.shape == expected.shape, f"{path.name}: shape {volume.shape} vs pydicom {expected.shape}"
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(volume, expected, rtol=1e-6, atol=1e-6 * scale, err_msg=path.name)
    return "compared"


def test_every_pydicom_test_file_pydicom_decodes_here_loads_with_the_same_pixels():
    files = pydicom_test_files()
    outcomes = {path: compare_with_pixel_array(path) for path in files}
    counts = Counter(outcomes.values())
    undecodable = sorted(p.name for p, outcome in outcomes.items() if outcome.startswith("pydicom cannot"))
    summary = f"{dict(counts)}; not decodable here: {', '.join(undecodable)}"
    print(summary)
    assert counts["compared"] >= 80, summary  # 8-, 16-, 32-bit, 1-bit, colour, multi-frame, deflated, RLE, ...


def test_eight_bit_and_one_bit_uncompressed_files_load(tmp_path):
    for path in (dicom_8bit(tmp_path), dicom_1bit(tmp_path)):
        np.testing.assert_array_equal(np.asarray(read_scan(path).volume), expected_volume(path), err_msg=path.name)
    assert set(np.unique(np.asarray(read_scan(dicom_1bit(tmp_path)).volume))) == {0.0, 1.0}


def test_a_12_bit_ct_with_overlay_bits_gives_its_true_hu(tmp_path):
    path, true_values = dicom_12bit_with_overlay(tmp_path, high_bit=11)
    volume = np.asarray(read_scan(path).volume)[0]
    np.testing.assert_array_equal(volume, true_values.astype(np.float32) - 1024)
    np.testing.assert_array_equal(volume, expected_volume(path)[0])


def test_high_bit_above_bits_stored_minus_one_is_honoured(tmp_path):
    # 12 bits stored in bits 4..15 (HighBit 15), random bits below: the standard's layout (pydicom assumes bits 0..11)
    path, true_values = dicom_12bit_with_overlay(tmp_path, high_bit=15)
    np.testing.assert_array_equal(np.asarray(read_scan(path).volume)[0], true_values.astype(np.float32) - 1024)


def test_stored_bits_masks_and_sign_extends():
    raw = np.array([0x8FFF, 0x0800, 0x07FF, 0xF001], dtype=np.uint16)
    np.testing.assert_array_equal(stored_bits(raw.view(np.int16), 12, 11), [-1, -2048, 2047, 1])
    np.testing.assert_array_equal(stored_bits(raw, 12, 11), [0xFFF, 0x800, 0x7FF, 0x001])
    np.testing.assert_array_equal(stored_bits(raw, 4, 15), [0x8, 0x0, 0x0, 0xF])
    np.testing.assert_array_equal(stored_bits(raw, 16, 15), raw)
    np.testing.assert_array_equal(stored_bits(raw, 12, 99), stored_bits(raw, 12, 11))  # bad HighBit: like pydicom


def test_a_deflated_file_whose_pixels_are_larger_than_the_file_loads(tmp_path):
    path = dicom_deflated(tmp_path)
    assert path.stat().st_size < 256 * 256 * 2
    scan = read_scan(path)
    np.testing.assert_array_equal(np.asarray(scan.volume), expected_volume(path))
    assert scan.meta["transfer_syntax"] == "Deflated Explicit VR Little Endian"
