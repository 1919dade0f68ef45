"""Generate hostile inputs, one generator per class of attack on the readers, each small on disk.

Security: HDF5 files whose data lives elsewhere (external raw storage, external links, virtual datasets, one of
them self-referencing), DICOMDIRs that point outside their folder. Denial of service: decompression bombs (a
Deflated DICOM, an HDF5 chunk, a .nii.gz, a zip checkpoint with deflated or overlapping members) and headers that
claim absurd sizes (a NIfTI-2 with 2^40 volumes). Integrity: a .nii.gz whose gzip CRC is wrong, float64 volumes
with ±Inf. Every generator writes into ``folder`` and returns the path(s); ``make_hostile_corpus`` writes one of
each for the corrupt-corpus test. Run as a script to write them for inspection: ``python make_hostile_files.py DIR``.
"""
from __future__ import annotations

import gzip
import io
import struct
import sys
import warnings
import zipfile
import zlib
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dicom_fixture import ct_dataset  # noqa: E402

MiB = 1024**2
SECRET_VALUES = np.arange(64, dtype=np.float32) * 1000 + 7  # what an external file would show as the image


def _zeros_deflated(n_bytes: int, wbits: int = -15, prefix: bytes = b"") -> bytes:
    """``prefix`` followed by ``n_bytes`` zeros, compressed (raw deflate by default) in constant memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    parts, block = [compressor.compress(prefix)], bytes(min(n_bytes, 16 * MiB) or 1)
    remaining = n_bytes
    while remaining > 0:
        parts.append(compressor.compress(block[: min(remaining, len(block))]))
        remaining -= len(block)
    return b"".join(parts) + compressor.flush()


# --- HDF5: data from elsewhere ---------------------------------------------------------------------------------

def hdf5_external_storage(folder: Path) -> Path:
    """A dataset whose raw data is another file on disk (``secret.raw``), as a generic 4×4×4 image."""
    secret = folder / "secret.raw"
    secret.write_bytes(SECRET_VALUES.tobytes())
    path = folder / "external_storage.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("img", shape=(4, 4, 4), dtype="f4", external=[(str(secret), 0, SECRET_VALUES.nbytes)])
    return path


def hdf5_other_file(folder: Path) -> Path:
    """A plain HDF5 file other files link to: ``data`` (2×4×4 of 7) and complex ``kspace``."""
    path = folder / "other.h5"
    with h5py.File(path, "w") as handle:
        handle["data"] = np.full((2, 4, 4), 7, np.float32)
        handle["kspace"] = np.ones((2, 1, 8, 8), np.complex64)
    return path


def hdf5_external_links(folder: Path) -> Path:
    """``img`` and ``kspace`` are external links into ``other.h5``; ``soft`` a soft link to ``img``."""
    other = hdf5_other_file(folder)
    path = folder / "external_links.h5"
    with h5py.File(path, "w") as handle:
        handle["img"] = h5py.ExternalLink(str(other), "/data")
        handle["kspace"] = h5py.ExternalLink(str(other), "/kspace")
        handle["soft"] = h5py.SoftLink("/img")
    return path


def hdf5_virtual_other(folder: Path) -> Path:
    """A virtual dataset mapping ``other.h5:/data``."""
    other = hdf5_other_file(folder)
    layout = h5py.VirtualLayout(shape=(2, 4, 4), dtype="f4")
    layout[:] = h5py.VirtualSource(str(other), "data", shape=(2, 4, 4))
    path = folder / "virtual_other.h5"
    with h5py.File(path, "w") as handle:
        handle.create_virtual_dataset("img", layout, fillvalue=0)
    return path


def hdf5_virtual_self(folder: Path) -> Path:
    """A virtual dataset mapping itself (``'.'`` is the same file): reading it crashed the HDF5 library."""
    layout = h5py.VirtualLayout(shape=(2, 4, 4), dtype="f4")
    layout[:] = h5py.VirtualSource(".", "img", shape=(2, 4, 4))
    path = folder / "virtual_self.h5"
    with h5py.File(path, "w") as handle:
        handle.create_virtual_dataset("img", layout, fillvalue=0)
    return path


# --- HDF5: memory ------------------------------------------------------------------------------------------------

def hdf5_chunk_bomb(folder: Path, inflated_bytes: int = 256 * MiB, name: str = "img") -> Path:
    """A gzip-chunked 2×64×64 float32 dataset whose first 16 KiB chunk inflates to ``inflated_bytes``."""
    path = folder / f"chunk_bomb_{name.replace('/', '_')}.h5"
    with h5py.File(path, "w") as handle:
        dataset = handle.create_dataset(name, shape=(2, 64, 64), dtype="f4", chunks=(1, 64, 64), compression="gzip")
        dataset[...] = 1.0
        dataset.id.write_direct_chunk((0, 0, 0), _zeros_deflated(inflated_bytes, wbits=15), filter_mask=0)
    return path


def hdf5_kspace_chunk_bomb(folder: Path, inflated_bytes: int = 256 * MiB) -> Path:
    """A fastMRI-like file whose gzip-chunked k-space has a chunk inflating to ``inflated_bytes``."""
    path = folder / "kspace_chunk_bomb.h5"
    with h5py.File(path, "w") as handle:
        kspace = handle.create_dataset("kspace", shape=(2, 1, 32, 32), dtype="c8", chunks=(1, 1, 32, 32),
                                       compression="gzip")
        kspace[...] = 1
        kspace.id.write_direct_chunk((1, 0, 0, 0), _zeros_deflated(inflated_bytes, wbits=15), filter_mask=0)
    return path


def hdf5_huge_chunk(folder: Path, chunk_side: int = 8192) -> Path:
    """A 2×8×8 dataset stored in one gzip chunk of 1×side×side float32 (256 MiB for 8192): tiny on disk."""
    path = folder / "huge_chunk.h5"
    with h5py.File(path, "w") as handle:
        dataset = handle.create_dataset("img", shape=(2, 8, 8), maxshape=(None, None, None), dtype="f4",
                                        chunks=(1, chunk_side, chunk_side), compression="gzip")
        dataset[...] = 1.0
    return path


# --- DICOM -------------------------------------------------------------------------------------------------------

def _ct(stored: np.ndarray, **header) -> object:
    dataset = ct_dataset(stored, position=(0, 0, 0), series_uid="1.2.826.0.1.3680043.8.498.77", instance=1)
    for keyword, value in header.items():
        setattr(dataset, keyword, value)
    return dataset


def dicom_deflated(folder: Path, rows: int = 256) -> Path:
    """A valid Deflated Explicit VR Little Endian CT whose pixel data (mostly zeros) is larger than the file."""
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    stored = np.zeros((rows, rows), np.int16)
    stored[rows // 4 : rows // 2, rows // 4 : rows // 2] = 1000
    dataset = _ct(stored)
    dataset.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    path = folder / "deflated.dcm"
    dataset.save_as(path, enforce_file_format=True)
    return path


def dicom_deflate_bomb(folder: Path, inflated_bytes: int = 256 * MiB) -> Path:
    """A Deflated 16×16 CT whose Pixel Data element claims and holds ``inflated_bytes`` zeros (a 1000:1 bomb)."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset, write_file_meta_info
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    dataset = _ct(np.zeros((16, 16), np.int16))
    del dataset.PixelData
    dataset.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    header = DicomBytesIO()
    header.is_implicit_VR, header.is_little_endian = False, True
    write_dataset(header, dataset)  # explicit VR little endian, as the deflated stream holds it
    pixel_element = b"\xe0\x7f\x10\x00OW\x00\x00" + struct.pack("<I", inflated_bytes)
    meta = DicomBytesIO()
    write_file_meta_info(meta, dataset.file_meta, enforce_standard=True)
    path = folder / "deflate_bomb.dcm"
    path.write_bytes(b"\0" * 128 + b"DICM" + meta.getvalue()
                     + _zeros_deflated(inflated_bytes, prefix=header.getvalue() + pixel_element))
    return path


def dicom_8bit(folder: Path) -> Path:
    """An uncompressed 8-bit unsigned MR-like image (BitsAllocated 8)."""
    stored = (np.arange(64 * 48) % 251).astype(np.uint8).reshape(64, 48)
    dataset = _ct(stored, BitsAllocated=8, BitsStored=8, HighBit=7, PixelRepresentation=0)
    dataset.PixelData = stored.tobytes()
    path = folder / "eight_bit.dcm"
    dataset.save_as(path, enforce_file_format=True)
    return path


def dicom_1bit(folder: Path) -> Path:
    """An uncompressed 1-bit image (a checkerboard-like pattern packed 8 pixels a byte)."""
    from pydicom.pixels import pack_bits

    stored = ((np.arange(32)[:, None] // 3 + np.arange(40)[None, :] // 5) % 2).astype(np.uint8)
    dataset = _ct(stored, BitsAllocated=1, BitsStored=1, HighBit=0, PixelRepresentation=0, RescaleIntercept=0)
    dataset.PixelData = pack_bits(stored)
    path = folder / "one_bit.dcm"
    dataset.save_as(path, enforce_file_format=True)
    return path


def dicom_12bit_with_overlay(folder: Path, high_bit: int = 11) -> tuple[Path, np.ndarray]:
    """A signed 12-bit CT (BitsStored 12) with garbage / overlay bits above ``high_bit``; and its true values."""
    rng = np.random.default_rng(3)
    true_values = rng.integers(-2048, 2048, size=(24, 20)).astype(np.int16)
    low_bit = high_bit - 11
    raw = ((true_values.astype(np.int32) & 0xFFF) << low_bit).astype(np.uint16)
    garbage = rng.integers(0, 2, size=raw.shape).astype(np.uint16) << (high_bit + 1) if high_bit < 15 else 0
    raw |= np.asarray(garbage, np.uint16)
    if low_bit:
        raw |= rng.integers(0, 1 << low_bit, size=raw.shape).astype(np.uint16)
    dataset = _ct(raw.view(np.int16), BitsStored=12, HighBit=high_bit, PixelRepresentation=1)
    path = folder / f"ct12_highbit{high_bit}.dcm"
    dataset.save_as(path, enforce_file_format=True)
    return path, true_values


def dicomdir_pointing_outside(folder: Path) -> tuple[Path, Path]:
    """``folder/media/DICOMDIR`` whose records name ``../outside/IMG`` and a symbolic link leaving the folder.

    Returns the DICOMDIR and the outside image (a valid CT that must never be read through the DICOMDIR).
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MediaStorageDirectoryStorage, generate_uid

    outside = folder / "outside"
    outside.mkdir(parents=True, exist_ok=True)
    secret = outside / "IMG"
    _ct(np.full((8, 8), 1234, np.int16)).save_as(secret, enforce_file_format=True)
    media = folder / "media"
    media.mkdir(exist_ok=True)
    link = media / "LINK"
    if not link.exists():
        link.symlink_to(secret)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MediaStorageDirectoryStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dicomdir = Dataset()
    dicomdir.file_meta = meta
    dicomdir.FileSetID = "HOSTILE"
    records = []
    for file_id in (["..", "outside", "IMG"], ["LINK"], [str(secret)]):
        record = Dataset()
        record.DirectoryRecordType = "IMAGE"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom rightly warns: these are not valid File ID components
            record.ReferencedFileID = file_id
        records.append(record)
    dicomdir.DirectoryRecordSequence = records
    path = media / "DICOMDIR"
    dicomdir.save_as(path, enforce_file_format=True)
    return path, secret


# --- NIfTI -------------------------------------------------------------------------------------------------------

def nifti2_claiming_volumes(folder: Path, n_volumes: int = 2**40, compressed: bool = False) -> Path:
    """A 2×2×2 NIfTI-2 header (560 bytes with its data) whose dim[4] claims ``n_volumes`` volumes."""
    buffer = io.BytesIO()
    image = nib.Nifti2Image(np.ones((2, 2, 2, 1), np.uint8), np.eye(4))
    buffer.write(image.header.binaryblock + b"\0" * 4 + np.ones(8, np.uint8).tobytes())
    data = bytearray(buffer.getvalue())
    struct.pack_into("<q", data, 16, 4)  # dim[0]: four dimensions
    struct.pack_into("<q", data, 16 + 8 * 4, n_volumes)  # dim[4]
    path = folder / ("nifti2_volumes.nii.gz" if compressed else "nifti2_volumes.nii")
    path.write_bytes(gzip.compress(bytes(data)) if compressed else bytes(data))
    return path


def nifti_gz_bad_crc(folder: Path) -> Path:
    """A valid 24×24×24 float32 .nii.gz whose gzip trailer CRC-32 has one flipped byte."""
    path = folder / "bad_crc.nii.gz"
    volume = np.random.default_rng(0).random((24, 24, 24)).astype(np.float32)
    nib.save(nib.Nifti1Image(volume, np.eye(4)), path)
    data = bytearray(path.read_bytes())
    data[-6] ^= 0xFF  # inside the CRC-32 (the trailer is CRC-32 then ISIZE)
    path.write_bytes(bytes(data))
    return path


def nifti_gz_bomb(folder: Path, inflated_bytes: int = 256 * MiB) -> Path:
    """A 4×4×4 uint8 .nii.gz followed, inside the same gzip stream, by ``inflated_bytes`` of zeros."""
    image = nib.Nifti1Image(np.ones((4, 4, 4), np.uint8), np.eye(4))
    header = image.header.binaryblock + b"\0" * 4 + np.ones(64, np.uint8).tobytes()
    path = folder / "bomb.nii.gz"
    path.write_bytes(_zeros_deflated(inflated_bytes, wbits=31, prefix=header))
    return path


# --- Integrity: ±Inf in float64 ----------------------------------------------------------------------------------

INF_VOLUME = np.array([[[1.5, 2.0], [np.inf, -np.inf]], [[-3.25, 7.75], [np.nan, 0.5]]], dtype=np.float64)


def float64_with_infinities(folder: Path) -> list[Path]:
    """``INF_VOLUME`` (finite extremes -3.25 and 7.75) as .npy, HDF5 and NIfTI float64 files."""
    paths = [folder / "inf64.npy", folder / "inf64.h5", folder / "inf64.nii"]
    np.save(paths[0], INF_VOLUME)
    with h5py.File(paths[1], "w") as handle:
        handle["x"] = INF_VOLUME
    nib.save(nib.Nifti1Image(INF_VOLUME.transpose(2, 1, 0), np.eye(4)), paths[2])
    return paths


# --- Checkpoints -------------------------------------------------------------------------------------------------

def checkpoint_deflated(folder: Path, n_tensors: int = 2, tensor_bytes: int = 64 * MiB) -> Path:
    """A ``torch.save`` zip whose members are re-stored deflated: ``n_tensors`` zero tensors, tiny on disk."""
    import torch

    plain = folder / "plain_checkpoint.pt"
    torch.save({f"w{i}": torch.zeros(tensor_bytes // 4) for i in range(n_tensors)}, plain)
    path = folder / "deflated_checkpoint.pt"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in source.infolist():
            out.writestr(info.filename, source.read(info.filename))
    plain.unlink()
    return path


def checkpoint_overlapping(folder: Path) -> Path:
    """A zip whose central directory lists the same compressed member 40 times under different names."""
    path = folder / "overlapping_checkpoint.pt"
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("archive/data/00", bytes(4 * MiB))
    data = body.getvalue()
    directory_start = data.index(b"PK\x01\x02")
    entry = data[directory_start : data.index(b"PK\x05\x06")]
    entries = [entry.replace(b"archive/data/00", f"archive/data/{i:02d}".encode()) for i in range(40)]
    directory = b"".join(entries)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory),
                      directory_start, 0)
    path.write_bytes(data[:directory_start] + directory + end)
    return path


def make_hostile_corpus(folder: str | Path) -> list[Path]:
    """One file of each scan class above (small bombs), for the corrupt-corpus test."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [hdf5_external_storage(folder), hdf5_external_links(folder), hdf5_virtual_other(folder),
             hdf5_virtual_self(folder), hdf5_chunk_bomb(folder, 64 * MiB), hdf5_kspace_chunk_bomb(folder, 64 * MiB),
             dicom_deflated(folder), dicom_deflate_bomb(folder, 64 * MiB), dicom_8bit(folder), dicom_1bit(folder),
             dicom_12bit_with_overlay(folder)[0], dicomdir_pointing_outside(folder)[0],
             nifti2_claiming_volumes(folder), nifti2_claiming_volumes(folder, compressed=True),
             nifti_gz_bad_crc(folder), nifti_gz_bomb(folder, 64 * MiB), *float64_with_infinities(folder)]
    return paths


if __name__ == "__main__":
    created = make_hostile_corpus(sys.argv[1] if len(sys.argv) > 1 else "hostile_files")
    print(f"{len(created)} hostile files written")
