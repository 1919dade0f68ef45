"""Generate a corpus of malformed scan files: mutations of small valid DICOM, NIfTI, HDF5 and NumPy files.

``make_corrupt_corpus(folder)`` writes the valid seeds and, for each, truncations at many offsets, seeded random
byte flips (mostly in the header region) and targeted header edits, plus odd files (empty, text named .dcm, ...).
Every file it returns must make ``read_scan`` end in a ``ScanReadError`` or a valid ``Scan``, never in another
exception, a crash or a hang (see tests/core/io/test_io_corrupt_corpus.py). Run as a script to write a corpus to
a folder for manual inspection: ``python make_corrupt_corpus.py OUTDIR``. It includes one file of each hostile class
of ``make_hostile_files`` (external data, bombs, absurd headers, bad CRCs).
"""
from __future__ import annotations

import gzip
import shutil
import struct
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dicom_fixture import ct_dataset  # noqa: E402
from fastmri_fixture import phantom_volume, write_fastmri_h5  # noqa: E402
from make_hostile_files import make_hostile_corpus  # noqa: E402

PYDICOM_SEEDS = ("CT_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "rtdose.dcm")
N_FLIPS_PER_SEED = 9


def _valid_seeds(folder: Path) -> list[Path]:
    """Small valid files of every supported format."""
    from pydicom.data import get_testdata_file

    seeds = []
    dataset = ct_dataset(np.arange(256, dtype=np.int16).reshape(16, 16), position=(0, 0, 0),
                         series_uid="1.2.3.4", instance=1)
    seeds.append(folder / "seed_ct.dcm")
    dataset.save_as(seeds[-1], enforce_file_format=True)
    for name in PYDICOM_SEEDS:
        found = get_testdata_file(name, download=False)
        if found is not None:
            seeds.append(Path(shutil.copy(found, folder / f"seed_{name}")))
    volume = np.random.default_rng(0).random((8, 7, 4)).astype(np.float32)
    seeds.append(folder / "seed_vol.nii")
    nib.save(nib.Nifti1Image(volume, np.diag([2.0, -1.5, 3.0, 1.0])), seeds[-1])
    scaled = nib.Nifti1Image((volume * 1000).astype(np.int16)[..., None].repeat(2, axis=3), np.eye(4))
    scaled.header.set_slope_inter(0.5, -3.0)
    seeds.append(folder / "seed_4d.nii.gz")
    nib.save(scaled, seeds[-1])
    seeds.append(folder / "seed_nifti2.nii")
    nib.save(nib.Nifti2Image(volume, np.eye(4)), seeds[-1])
    seeds.append(write_fastmri_h5(folder / "seed_fastmri.h5", phantom_volume(2, 8, 8), n_coils=2).path)
    seeds.append(folder / "seed_generic.h5")
    with h5py.File(seeds[-1], "w") as handle:
        handle["images/volume"] = volume
    seeds.append(folder / "seed_array.npy")
    np.save(seeds[-1], volume)
    seeds.append(folder / "seed_bundle.npz")
    np.savez_compressed(seeds[-1], image=volume, plane=volume[0])
    return seeds


def _truncation_offsets(size: int) -> list[int]:
    fixed = [1, 4, 8, 64, 127, 128, 131, 132, 200, 347, 348, 352, 540, 1024]
    relative = [size // 8, size // 4, size // 2, 3 * size // 4, size - 64, size - 8, size - 1]
    return sorted({offset for offset in fixed + relative if 0 < offset < size})


def _mutations(seed: Path, folder: Path, rng: np.random.Generator) -> list[Path]:
    data = seed.read_bytes()
    written = []
    for offset in _truncation_offsets(len(data)):
        written.append(folder / f"trunc{offset}_{seed.name}")
        written[-1].write_bytes(data[:offset])
    for flip in range(N_FLIPS_PER_SEED):
        mutated = bytearray(data)
        region = min(len(data), 600) if flip % 3 else len(data)
        for position in rng.integers(0, region, size=int(rng.integers(1, 17))):
            mutated[position] ^= int(rng.integers(1, 256))
        written.append(folder / f"flip{flip}_{seed.name}")
        written[-1].write_bytes(bytes(mutated))
    return written


def _fake_compression(dataset, syntax) -> None:
    """Declare a compressed transfer syntax but keep the raw pixels (encapsulated as one bogus fragment)."""
    from pydicom.encaps import encapsulate

    dataset.file_meta.TransferSyntaxUID = syntax
    dataset.PixelData = encapsulate([dataset.PixelData])


def _dicom_edits(folder: Path) -> list[Path]:
    """CT headers whose image description is inconsistent or absurd."""
    from pydicom.uid import JPEG2000, RLELossless

    def edited(name: str, change: Callable) -> Path:
        dataset = ct_dataset(np.arange(256, dtype=np.int16).reshape(16, 16), position=(0, 0, 0),
                             series_uid="1.2.3.5", instance=1)
        change(dataset)
        path = folder / f"edit_{name}.dcm"
        dataset.save_as(path, enforce_file_format=False)
        return path

    edits: dict[str, Callable] = {
        "rows0": lambda d: setattr(d, "Rows", 0),
        "one_pixel": lambda d: (setattr(d, "Rows", 1), setattr(d, "Columns", 1), setattr(d, "PixelData", b"\0\0")),
        "columns_huge": lambda d: setattr(d, "Columns", 65535),
        "bits12": lambda d: setattr(d, "BitsAllocated", 12),
        "bits64": lambda d: setattr(d, "BitsAllocated", 64),
        "bits1": lambda d: setattr(d, "BitsAllocated", 1),
        "samples3": lambda d: setattr(d, "SamplesPerPixel", 3),
        "frames_huge": lambda d: setattr(d, "NumberOfFrames", 100000),
        "frames_negative": lambda d: setattr(d, "NumberOfFrames", -4),
        "pixel_rep5": lambda d: setattr(d, "PixelRepresentation", 5),
        "fake_j2k": lambda d: _fake_compression(d, JPEG2000),
        "fake_rle": lambda d: _fake_compression(d, RLELossless),
        "slope_nan": lambda d: setattr(d, "RescaleSlope", "NaN"),
        "spacing_zero": lambda d: setattr(d, "PixelSpacing", [0, 0]),
        "orientation_zero": lambda d: setattr(d, "ImageOrientationPatient", [0, 0, 0, 0, 0, 0]),
        "palette": lambda d: setattr(d, "PhotometricInterpretation", "PALETTE COLOR"),
        "no_pixels": lambda d: delattr(d, "PixelData"),
        "empty_pixels": lambda d: setattr(d, "PixelData", b""),
        "window_width_marker": lambda d: setattr(d, "WindowWidth", 987.5),
    }
    written = [edited(name, change) for name, change in edits.items()]
    marked = written[-1].read_bytes()
    text_in_number = folder / "edit_window_text.dcm"
    text_in_number.write_bytes(marked.replace(b"987.5 ", b"wide! "))
    return [*written, text_in_number]


NIFTI1_FIELDS = {"dim0": (40, "<h"), "dim1": (42, "<h"), "dim2": (44, "<h"), "datatype": (70, "<h"),
                 "bitpix": (72, "<h"), "pixdim1": (80, "<f"), "vox_offset": (108, "<f"), "scl_slope": (112, "<f"),
                 "sform_code": (254, "<h"), "srow_x0": (280, "<f")}
NIFTI1_EDITS = [("dim0", 0), ("dim0", 8), ("dim0", -1), ("dim1", 0), ("dim1", -5), ("dim1", 30000),
                ("dim2", 1), ("datatype", 0), ("datatype", 2048), ("datatype", 128), ("datatype", 1792),
                ("bitpix", 3), ("pixdim1", float("nan")), ("pixdim1", -2.0), ("vox_offset", 1e9),
                ("vox_offset", 0.0), ("vox_offset", float("nan")), ("scl_slope", float("inf")),
                ("scl_slope", float("nan")), ("sform_code", 2), ("srow_x0", float("nan"))]


def _nifti_edits(seed: Path, folder: Path) -> list[Path]:
    data = seed.read_bytes()
    written = []
    for number, (field, value) in enumerate(NIFTI1_EDITS):
        offset, layout = NIFTI1_FIELDS[field]
        mutated = bytearray(data)
        struct.pack_into(layout, mutated, offset, value)
        written.append(folder / f"hdr{number}_{field}.nii")
        written[-1].write_bytes(bytes(mutated))
    magic = bytearray(data)
    magic[344:348] = b"xyz\0"
    written.append(folder / "hdr_magic.nii")
    written[-1].write_bytes(bytes(magic))
    written.append(folder / "hdr_magic.nii.gz")
    written[-1].write_bytes(gzip.compress(bytes(magic)))
    return written


def _npy_edits(seed: Path, folder: Path) -> list[Path]:
    data = seed.read_bytes()
    header_end = data.index(b"\n") + 1
    header = data[10:header_end].decode("latin-1")
    replacements = {
        "huge": ("(8, 7, 4)", "(100000, 100000, 100)"),
        "object": ("'<f4'", "'|O'"),
        "fortran": ("False", "True"),
        "structured": ("'<f4'", "[('a', '<f4')]"),
        "broken": ("{", "["),
        "zero": ("(8, 7, 4)", "(0, 7, 4)"),
    }
    written = []
    for name, (old, new) in replacements.items():
        text = header.replace(old, new)
        text = text.rstrip("\n").ljust(len(header) - 1)[: len(header) - 1] + "\n" if len(text) <= len(header) else text
        path = folder / f"npy_{name}.npy"
        path.write_bytes(data[:8] + struct.pack("<H", len(text)) + text.encode("latin-1") + data[header_end:])
        written.append(path)
    return written


def _hdf5_edits(folder: Path) -> list[Path]:
    def h5(name: str, fill: Callable[[h5py.File], None]) -> Path:
        path = folder / f"h5_{name}.h5"
        with h5py.File(path, "w") as handle:
            fill(handle)
        return path

    nan_volume = np.full((2, 4, 4), np.nan, np.float32)
    header_xml = np.bytes_(b"<ismrmrdHeader xmlns='http://www.ismrm.org/ISMRMRD'><encoding/></ismrmrdHeader>")
    fills: dict[str, Callable[[h5py.File], None]] = {
        "kspace_float": lambda h: h.create_dataset("kspace", data=np.ones((2, 8, 8), np.float32)),
        "kspace_2d": lambda h: h.create_dataset("kspace", data=np.ones((8, 8), np.complex64)),
        "kspace_5d": lambda h: h.create_dataset("kspace", data=np.ones((1, 1, 1, 8, 8), np.complex64)),
        "kspace_empty": lambda h: h.create_dataset("kspace", data=np.ones((0, 2, 8, 8), np.complex64)),
        "kspace_1px": lambda h: h.create_dataset("kspace", data=np.ones((2, 2, 1, 1), np.complex64)),
        "kspace_group": lambda h: h.create_group("kspace"),
        "kspace_nan": lambda h: h.create_dataset("kspace", data=np.full((2, 2, 8, 8), np.nan, np.complex64)),
        "kspace_bad_xml": lambda h: (h.create_dataset("kspace", data=np.ones((2, 8, 8), np.complex64)),
                                     h.create_dataset("ismrmrd_header", data=np.bytes_(b"<<<not xml"))),
        "kspace_xml_missing": lambda h: (h.create_dataset("kspace", data=np.ones((2, 8, 8), np.complex64)),
                                         h.create_dataset("ismrmrd_header", data=header_xml)),
        "reference_nan": lambda h: (h.create_dataset("kspace", data=np.ones((2, 8, 8), np.complex64)),
                                    h.create_dataset("reconstruction_rss", data=nan_volume)),
        "reference_mismatch": lambda h: (h.create_dataset("kspace", data=np.ones((2, 8, 8), np.complex64)),
                                         h.create_dataset("reconstruction_rss", data=np.ones((5, 4, 4)))),
        "mask_text": lambda h: (h.create_dataset("kspace", data=np.ones((2, 8, 8), np.complex64)),
                                h.create_dataset("mask", data=np.array([b"a", b"b"]))),
        "strings_only": lambda h: h.create_dataset("names", data=np.array([b"a", b"b"])),
        "empty_file": lambda h: None,
        "tiny_dataset": lambda h: h.create_dataset("x", data=np.ones((1, 1))),
        "nan_dataset": lambda h: h.create_dataset("x", data=nan_volume),
        "inf_dataset": lambda h: h.create_dataset("x", data=np.array([[np.inf, 1.0], [-np.inf, 2.0]])),
    }
    return [h5(name, fill) for name, fill in fills.items()]


def _odd_files(folder: Path) -> list[Path]:
    files = {
        "empty.dcm": b"",
        "one_byte.nii": b"\x5c",
        "text.dcm": b"This is not a DICOM file, just text that happens to be named .dcm\n" * 4,
        "text.h5": b"plain text",
        "random.nii.gz": np.random.default_rng(5).bytes(1000),
        "garbage.nii.gz": gzip.compress(b"garbage" * 100),
        "preamble_only.dcm": b"\0" * 128 + b"DICM",
        "hdf5_signature_only.h5": b"\x89HDF\r\n\x1a\n",
        "npy_magic_only.npy": b"\x93NUMPY",
    }
    written = []
    for name, content in files.items():
        written.append(folder / name)
        written[-1].write_bytes(content)
    zipped = folder / "no_arrays.npz"
    with zipfile.ZipFile(zipped, "w") as bundle:
        bundle.writestr("readme.txt", "no arrays here")
    junk_folder = folder / "junk_folder"
    junk_folder.mkdir()
    (junk_folder / "a.txt").write_text("nothing")
    empty_folder = folder / "empty_folder"
    empty_folder.mkdir()
    return [*written, zipped, junk_folder, empty_folder]


def make_corrupt_corpus(folder: str | Path, seed: int = 0) -> list[Path]:
    """Write the corpus into ``folder`` (created) and return the malformed files and folders (not the seeds)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    seeds_folder = folder / "seeds"
    seeds_folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # generating deliberately invalid headers makes pydicom / nibabel warn
        seeds = _valid_seeds(seeds_folder)
        corpus = [path for seed_file in seeds for path in _mutations(seed_file, folder, rng)]
        corpus += _dicom_edits(folder)
        corpus += _nifti_edits(seeds_folder / "seed_vol.nii", folder)
        corpus += _npy_edits(seeds_folder / "seed_array.npy", folder)
        corpus += _hdf5_edits(folder)
        corpus += _odd_files(folder)
        corpus += make_hostile_corpus(folder / "hostile")  # one file per attack class (make_hostile_files.py)
    return corpus


if __name__ == "__main__":
    created = make_corrupt_corpus(sys.argv[1] if len(sys.argv) > 1 else "corrupt_corpus")
    print(f"{len(created)} malformed files written")
