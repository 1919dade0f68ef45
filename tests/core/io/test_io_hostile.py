"""Hostile inputs (tests/data/make_hostile_files.py): data from elsewhere is never read, bombs are refused before
the memory is spent, non-regular files never block, and damaged data is never shown as an image.

Reads that could crash, hang or exhaust memory on a regression run in a child process (``isolated_read``) with an
address-space cap; their peak memory is the child's own high-water mark of resident memory.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from isolated_read import isolated, read_outcome_code
from make_hostile_files import (
    INF_VOLUME,
    MiB,
    dicom_deflate_bomb,
    dicomdir_pointing_outside,
    float64_with_infinities,
    hdf5_chunk_bomb,
    hdf5_external_links,
    hdf5_external_storage,
    hdf5_huge_chunk,
    hdf5_kspace_chunk_bomb,
    hdf5_virtual_other,
    hdf5_virtual_self,
    nifti2_claiming_volumes,
    nifti_gz_bad_crc,
    nifti_gz_bomb,
)

from halluview.core.io import ScanReadError, limits, list_contents, read_scan

POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX resource limits, FIFOs and symlinks")
#: The bombs inflate to this; a refused read must stay far below it.
BOMB_BYTES = 256 * MiB
#: Peak RSS allowed for a child that imports HalluView's readers and refuses one bomb (about 65 MiB measured).
REFUSAL_PEAK_MIB = 160


def refusal_reason(path, **choices) -> str:
    with pytest.raises(ScanReadError) as caught:
        read_scan(path, **choices)
    assert str(path) in str(caught.value)
    return caught.value.reason


# --- Security: only the given file is read ------------------------------------------------------------------------

def test_hdf5_external_raw_storage_is_refused_and_never_shown_as_the_image(tmp_path):
    path = hdf5_external_storage(tmp_path)
    for reason in (refusal_reason(path), refusal_reason(path, dataset="img")):
        assert "external file" in reason and "secret.raw" in reason
    with pytest.raises(ScanReadError, match="external file"):
        list_contents(path)


def test_hdf5_external_links_are_not_followed(tmp_path):
    path = hdf5_external_links(tmp_path)
    assert "link into another file" in refusal_reason(path)  # the default choice is the linked 'kspace'
    assert "link into another file" in refusal_reason(path, dataset="img")
    assert "link into another file" in refusal_reason(path, dataset="soft")  # a soft link to the external link
    with pytest.raises(ScanReadError, match="link into another file"):
        list_contents(path)


@POSIX_ONLY
@pytest.mark.parametrize("make", [hdf5_virtual_self, hdf5_virtual_other], ids=["self", "other-file"])
def test_hdf5_virtual_datasets_are_refused_without_crashing(tmp_path, make):
    path = make(tmp_path)
    for choices in ({}, {"dataset": "img"}):
        run = isolated(read_outcome_code(str(path), **choices))
        assert run.returncode == 0, f"the reader crashed (exit {run.returncode}): {run.stderr}"
        assert run.result[0] == "error" and "virtual dataset" in run.result[1] and run.result[2], run.result


@POSIX_ONLY
def test_a_dicomdir_never_reads_files_outside_its_folder(tmp_path):
    dicomdir, outside_image = dicomdir_pointing_outside(tmp_path)
    assert read_scan(outside_image).volume.max() == pytest.approx(1234 - 1024)  # readable when opened directly
    reason = refusal_reason(dicomdir)
    assert "3 file(s) the DICOMDIR refers to lie outside its folder and were not read" in reason


# --- Denial of service: refuse before spending the memory ---------------------------------------------------------

@POSIX_ONLY
@pytest.mark.parametrize("make, expected", [
    (dicom_deflate_bomb, "inflates beyond"),
    (hdf5_chunk_bomb, "decompresses to more than its 16384 bytes"),
    (hdf5_kspace_chunk_bomb, "decompresses to more than its 8192 bytes"),
    (nifti_gz_bomb, "inflates beyond the"),
], ids=["deflated-dicom", "hdf5-chunk", "fastmri-kspace-chunk", "nifti-gz"])
def test_decompression_bombs_are_refused_in_little_memory(tmp_path, make, expected):
    path = make(tmp_path, BOMB_BYTES)
    assert path.stat().st_size < BOMB_BYTES / 500
    run = isolated(read_outcome_code(str(path)))
    assert run.returncode == 0, run.stderr
    assert run.result[0] == "error" and expected in run.result[1], run.result
    assert run.peak_rss_mib < REFUSAL_PEAK_MIB, f"peak {run.peak_rss_mib:.0f} MiB for a refused {path.name}"


@POSIX_ONLY
def test_a_nifti2_claiming_2_to_the_40_volumes_is_refused_at_once(tmp_path):
    for path in (nifti2_claiming_volumes(tmp_path), nifti2_claiming_volumes(tmp_path, compressed=True)):
        run = isolated(f"""
from halluview.core.io import ScanReadError, list_contents
try:
    list_contents({str(path)!r})
    result = "listed"
except ScanReadError as error:
    result = error.reason
""")
        assert run.returncode == 0, run.stderr
        assert "truncated" in run.result and "8796093022208 bytes" in run.result
        assert run.peak_rss_mib < REFUSAL_PEAK_MIB


def test_an_hdf5_chunk_larger_than_the_memory_limit_is_refused_before_reading(tmp_path, monkeypatch):
    path = hdf5_huge_chunk(tmp_path, chunk_side=4096)  # one 64 MiB chunk for a 2×8×8 dataset
    monkeypatch.setenv(limits.MEMORY_LIMIT_ENV, "32M")
    reason = refusal_reason(path)
    assert "one chunk (64.0 MiB)" in reason and "32.0 MiB limit" in reason and limits.MEMORY_LIMIT_ENV in reason
    monkeypatch.setenv(limits.MEMORY_LIMIT_ENV, "1G")
    assert read_scan(path).volume.shape == (2, 8, 8)


def test_the_volume_limit_follows_the_available_memory(tmp_path, monkeypatch):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       1000000 kB\nMemFree:          10000 kB\nMemAvailable:     20000 kB\n")
    monkeypatch.setattr(limits, "MEMINFO", str(meminfo))
    monkeypatch.delenv(limits.MEMORY_LIMIT_ENV, raising=False)
    assert limits.memory_limit_bytes() == 20000 * 1024 // 2
    np.save(tmp_path / "a.npy", np.ones((10, 100, 100), np.float32))  # 400 kB: below the 10 MB limit
    assert read_scan(tmp_path / "a.npy").volume.shape == (10, 100, 100)
    meminfo.write_text("MemAvailable:        500 kB\n")  # 250 kB allowed now: the same file is refused
    assert "more than the 250.0 KiB limit" in refusal_reason(tmp_path / "a.npy")
    monkeypatch.setenv(limits.MEMORY_LIMIT_ENV, "2M")
    assert limits.memory_limit_bytes() == 2 * MiB
    assert read_scan(tmp_path / "a.npy").volume.shape == (10, 100, 100)
    monkeypatch.setenv(limits.MEMORY_LIMIT_ENV, "lots")  # not a byte count: ignored, the available memory counts
    assert limits.memory_limit_bytes() == 500 * 1024 // 2


@POSIX_ONLY
def test_fifos_are_refused_at_once_as_scans_and_skipped_in_folders(tmp_path):
    from dicom_fixture import ramp_volume, write_ct_series

    os.mkfifo(tmp_path / "scan.nii")
    assert "named pipe (FIFO)" in refusal_reason(tmp_path / "scan.nii")
    with pytest.raises(ScanReadError, match="named pipe"):
        list_contents(tmp_path / "scan.nii")
    os.symlink(tmp_path / "scan.nii", tmp_path / "link.dcm")
    assert "named pipe (FIFO)" in refusal_reason(tmp_path / "link.dcm")
    series = tmp_path / "series"
    write_ct_series(series, ramp_volume(3, 8, 8))
    os.mkfifo(series / "IMG9999.dcm")
    assert read_scan(series).volume.shape == (3, 8, 8)


# --- Integrity ----------------------------------------------------------------------------------------------------

def test_a_nii_gz_with_a_bad_crc_is_refused(tmp_path):
    path = nifti_gz_bad_crc(tmp_path)
    assert "gzip check of its content failed" in refusal_reason(path)
    with pytest.raises(ScanReadError, match="gzip check"):
        list_contents(path)


def test_float64_infinities_become_the_finite_extremes_of_the_data(tmp_path):
    for path in float64_with_infinities(tmp_path):
        scan = read_scan(path)
        values = np.sort(np.asarray(scan.volume).ravel())
        # finite values of INF_VOLUME, NaN -> 0, +Inf -> 7.75 (the largest finite), -Inf -> -3.25 (the smallest)
        expected = np.sort(np.concatenate([INF_VOLUME[np.isfinite(INF_VOLUME)], [0.0, 7.75, -3.25]]))
        np.testing.assert_array_equal(values, expected.astype(np.float32), err_msg=path.name)
        assert any("±Inf clipped to [-3.25, 7.75]" in note for note in scan.meta["warnings"]), path.name


def test_float64_values_beyond_float32_are_clipped_to_it_and_infinities_to_them(tmp_path):
    np.save(tmp_path / "wide.npy", np.array([[1e300, -1e300], [np.inf, 0.0]]))
    values = np.asarray(read_scan(tmp_path / "wide.npy").volume).ravel()
    limit = np.finfo(np.float32).max
    np.testing.assert_array_equal(values, np.array([limit, -limit, limit, 0.0], np.float32))
