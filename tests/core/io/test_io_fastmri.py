"""fastMRI-layout HDF5 files written by tests/data/fastmri_fixture.py: conventions, laziness, bad k-space."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from fastmri_fixture import ifft2c, phantom_volume, write_fastmri_h5
from fastmri_reference import header_metadata, transforms

from halluview.core.io import LazyH5Dataset, ScanReadError, list_contents, read_scan
from halluview.core.io.lazy import LazySliceVolume


@pytest.fixture
def fastmri_file(tmp_path):
    return write_fastmri_h5(tmp_path / "file1000001.h5", phantom_volume(3, 32, 24), n_coils=4, acceleration=4)


def test_header_conventions_and_attributes(fastmri_file):
    scan = read_scan(fastmri_file.path)
    assert scan.meta["encoding_size"] == fastmri_file.encoding_size == (64, 34, 1)
    assert scan.meta["recon_size"] == fastmri_file.recon_size == (32, 24, 1)
    assert (scan.meta["padding_left"], scan.meta["padding_right"]) == (6, 30)
    assert (fastmri_file.padding_left, fastmri_file.padding_right) == (6, 30)
    assert scan.meta["acquisition"] == "CORPD_FBK"
    assert scan.meta["max"] == pytest.approx(float(fastmri_file.reference.max()))
    assert scan.meta["norm"] == pytest.approx(float(np.linalg.norm(fastmri_file.reference)), rel=1e-6)
    assert "PATIENT-0042" not in repr(scan.meta) and "patient_id" not in scan.meta
    assert scan.spacing_mm == pytest.approx((3.0, 0.5, 0.5))
    assert (scan.modality, scan.units) == ("MR", "a.u.")
    np.testing.assert_array_equal(scan.mask, fastmri_file.mask)


def test_kspace_is_lazy_and_the_reference_is_the_rss_of_its_inverse_fft(fastmri_file):
    scan = read_scan(fastmri_file.path)
    assert isinstance(scan.kspace, LazyH5Dataset)
    assert scan.kspace.shape == (3, 4, 64, 34) and scan.kspace.dtype == np.complex64
    with h5py.File(fastmri_file.path, "r") as handle:
        kspace = handle["kspace"][1]
        reference = handle["reconstruction_rss"][1]
    np.testing.assert_array_equal(scan.kspace[1], kspace)
    rss = np.sqrt(np.sum(np.abs(ifft2c(kspace.astype(np.complex128))) ** 2, axis=0))
    top, left = (64 - 32) // 2, (34 - 24) // 2
    np.testing.assert_allclose(reference, rss[top : top + 32, left : left + 24], rtol=1e-5, atol=1e-6)
    assert scan.volume.shape == (3, 32, 24)
    np.testing.assert_array_equal(scan.slice_image(1), reference)
    np.testing.assert_array_equal(np.asarray(scan.reference), fastmri_file.reference)


def test_without_reference_the_volume_is_the_cropped_zero_filled_rss_per_slice(tmp_path, monkeypatch):
    written = write_fastmri_h5(tmp_path / "test.h5", phantom_volume(2, 16, 12), n_coils=3, reference_name=None)
    scan = read_scan(written.path)
    assert scan.reference is None and isinstance(scan.volume, LazySliceVolume)
    assert scan.volume.shape == (2, 16, 12)
    requested = []
    original = LazyH5Dataset.__getitem__
    monkeypatch.setattr(LazyH5Dataset, "__getitem__", lambda self, key: requested.append(key) or original(self, key))
    image = scan.slice_image(1)
    assert requested == [1], "only slice 1 of the k-space is read"
    np.testing.assert_allclose(image, written.reference[1], rtol=1e-5, atol=1e-6)


def test_single_coil_and_esc_reference(tmp_path):
    written = write_fastmri_h5(tmp_path / "sc.h5", phantom_volume(2, 16, 12), n_coils=None,
                               reference_name="reconstruction_esc", acceleration=1)
    scan = read_scan(written.path)
    assert scan.kspace.shape == (2, 32, 22) and scan.mask is None
    assert scan.meta["reference_name"] == "reconstruction_esc"
    np.testing.assert_allclose(np.asarray(scan.volume), written.reference, rtol=1e-6)


def test_contents_list_kspace_first_and_reference_readable_alone(fastmri_file):
    contents = list_contents(fastmri_file.path)
    assert contents[0].key == "kspace" and contents[0].shape == (3, 64, 34)
    assert "reconstruction_rss" in [choice.key for choice in contents]
    alone = read_scan(fastmri_file.path, dataset="reconstruction_rss")
    assert alone.kspace is None and isinstance(alone.volume, np.ndarray)
    np.testing.assert_array_equal(alone.volume, fastmri_file.reference)


@pytest.mark.parametrize(("data", "words"), [
    (np.zeros((2, 8, 8), np.float32), "3-D float32"),
    (np.zeros((8, 8), np.complex64), "2-D complex64"),
    (np.zeros((1, 2, 2, 8, 8), np.complex64), "5-D complex64"),
])
def test_kspace_of_the_wrong_rank_or_dtype_is_refused(tmp_path, data, words):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as handle:
        handle["kspace"] = data
    with pytest.raises(ScanReadError, match=words):
        read_scan(path)


def test_nan_in_the_reference_is_replaced_when_the_slice_is_read(tmp_path):
    written = write_fastmri_h5(tmp_path / "nan.h5", phantom_volume(2, 16, 12), n_coils=2)
    with h5py.File(written.path, "r+") as handle:
        handle["reconstruction_rss"][1, 3, 4] = np.nan
    scan = read_scan(written.path)
    assert np.isfinite(scan.slice_image(1)).all() and scan.slice_image(1)[3, 4] == 0
    assert any("slice 1" in note for note in scan.meta["warnings"])


def test_damaged_header_xml_is_a_warning_not_a_failure(tmp_path):
    written = write_fastmri_h5(tmp_path / "xml.h5", phantom_volume(2, 16, 12), n_coils=2)
    with h5py.File(written.path, "r+") as handle:
        del handle["ismrmrd_header"]
        handle["ismrmrd_header"] = np.bytes_(b"<ismrmrdHeader><encoding>")
    scan = read_scan(written.path)
    assert "padding_left" not in scan.meta
    assert any("ismrmrd_header" in note for note in scan.meta["warnings"])


@pytest.mark.parametrize("field_of_view", [True, False])
def test_header_values_are_fastmris_and_field_of_view_is_optional(tmp_path, field_of_view):
    """fastMRI's loader reads only matrixSize and encodingLimits; a header without fieldOfView_mm is valid."""
    written = write_fastmri_h5(tmp_path / "h.h5", phantom_volume(2, 32, 24), n_coils=2, field_of_view=field_of_view)
    scan = read_scan(written.path)
    expected = header_metadata(written.path)
    for key in ("encoding_size", "recon_size", "padding_left", "padding_right"):
        assert scan.meta[key] == expected[key], key
    assert scan.spacing_mm == pytest.approx((3.0, 0.5, 0.5) if field_of_view else (1.0, 1.0, 1.0))
    assert any("fieldOfView_mm" in note for note in scan.meta.get("warnings", [])) != field_of_view


def test_header_elements_are_found_where_fastmris_query_finds_them(tmp_path):
    """et_query searches descendants (``.//encoding//encodedSpace//…``): extra wrapping elements do not hide them."""
    written = write_fastmri_h5(tmp_path / "w.h5", phantom_volume(1, 16, 12), n_coils=2)
    with h5py.File(written.path, "r+") as handle:
        header = handle["ismrmrd_header"][()].decode()
        del handle["ismrmrd_header"]
        header = header.replace("<encodingLimits>", "<encodingLimits><group>").replace("</encodingLimits>",
                                                                                       "</group></encodingLimits>")
        handle["ismrmrd_header"] = np.bytes_(header.encode())
    scan = read_scan(written.path)
    expected = header_metadata(written.path)
    assert (scan.meta["padding_left"], scan.meta["padding_right"]) == (expected["padding_left"],
                                                                       expected["padding_right"]) == (6, 18)


@pytest.mark.parametrize(("old", "new", "words"), [
    ("<center>11</center>", "<centre>11</centre>", "no encoding/encodingLimits/kspace_encoding_step_1/center"),
    ("<y>24</y>", "<y>2x4</y>", "reconSpace/matrixSize/y is '2x4', not a number"),
])
def test_header_without_what_fastmri_needs_is_a_warning_naming_it(tmp_path, old, new, words):
    written = write_fastmri_h5(tmp_path / "m.h5", phantom_volume(1, 32, 24), n_coils=2)
    with h5py.File(written.path, "r+") as handle:
        header = handle["ismrmrd_header"][()].decode()
        del handle["ismrmrd_header"]
        assert header.count(old) == 1
        handle["ismrmrd_header"] = np.bytes_(header.replace(old, new).encode())
    scan = read_scan(written.path)
    assert "padding_left" not in scan.meta
    assert any(words in note for note in scan.meta["warnings"]), scan.meta["warnings"]


def test_kspace_narrower_than_the_recon_size_is_cropped_square_as_fastmri_does(tmp_path):
    """fastMRI's FLAIR-203 rule: k-space width W < recon width gives a W x W crop (UnetDataTransform, target None)."""
    written = write_fastmri_h5(tmp_path / "flair.h5", phantom_volume(2, 32, 16), n_coils=3, acceleration=1,
                               phase_padding=(2, 2), reference_name=None, recon_size=(32, 24))
    scan = read_scan(written.path)
    assert scan.kspace.shape[-1] == 20 < 24 and scan.volume.shape == (2, 20, 20)
    attrs = header_metadata(written.path)
    unet_input = transforms.UnetDataTransform("multicoil")(scan.kspace[1], None, None, attrs, "flair.h5", 1)
    expected = unet_input.image * unet_input.std + unet_input.mean  # undo its normalisation (nothing is clamped)
    assert unet_input.image.abs().max() < 6 and expected.shape == (20, 20)
    torch.testing.assert_close(torch.from_numpy(scan.slice_image(1)), expected.float(), rtol=1e-4, atol=1e-5)
