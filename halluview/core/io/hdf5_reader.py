"""HDF5 reader: fastMRI files (``kspace`` + reference) and, for any other file, one numeric 2-D / 3-D dataset.

fastMRI layout
--------------
``kspace``: complex (slices, coils, H, W) or (slices, H, W); ``reconstruction_rss`` or ``reconstruction_esc``:
reference (slices, h, w); optional ``mask``; attributes ``max``, ``norm``, ``acquisition`` (``patient_id`` is
identifying and never copied); ``ismrmrd_header`` XML (see ``ismrmrd``).

Only the file's own data is read (see ``hdf5_safety``: no external links, external storage or virtual datasets;
chunks checked against decompression bombs and the memory limit). Nothing is read whole: ``scan.kspace`` is a
:class:`LazyH5Dataset` (the file stays open read-only; index it by slice) and ``scan.volume`` is the reference read
slice by slice (``LazyH5Image``), or, when the file has no reference, the root-sum-of-squares of the inverse FFT of
each zero-filled k-space slice, centre-cropped as fastMRI crops it (``LazyZeroFilledRSS``: to the recon size, or to
W × W when the k-space width W is below the recon width, see ``ismrmrd.recon_crop_size``), computed when the slice
is indexed. ``scan.reference`` is the reference (or None). fastMRI-specific values are in ``scan.meta``:
``encoding_size``, ``recon_size``, ``padding_left``, ``padding_right``, ``max``, ``norm``, ``acquisition``.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..scan import Scan
from .errors import ContentChoice, ScanReadError
from .guards import check_volume_size, default_window, format_shape, sanitise, to_float32
from .hdf5_safety import checked_dataset, dataset_problem, read_checked, safe_get
from .ismrmrd import MAX_HEADER_BYTES, IsmrmrdGeometry, parse_ismrmrd_header, recon_crop_size
from .lazy import LazyH5Dataset, LazyH5Image, LazyZeroFilledRSS
from .registry import ReadRequest

KSPACE = "kspace"
REFERENCE_NAMES = ("reconstruction_rss", "reconstruction_esc")
#: File attributes copied to ``scan.meta`` (``patient_id`` is deliberately absent: it identifies the patient).
FASTMRI_ATTRIBUTES = ("max", "norm", "acquisition", "acceleration", "num_low_frequency", "num_low_frequencies")


def _open(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except OSError as error:
        detail = str(error).strip().splitlines()[0]
        raise ScanReadError(path, f"the HDF5 file cannot be opened: it is damaged or truncated ({detail})") from error


def _image_datasets(handle: h5py.File, refused: dict[str, str] | None = None) -> dict[str, h5py.Dataset]:
    """Numeric datasets of 2 or 3 dimensions, at least 2×2, in file order (``kspace`` excluded).

    Datasets HalluView will not read (``hdf5_safety.dataset_problem``) are left out, their reason put in ``refused``.
    Only hard links are visited: links into other files are never followed.
    """
    found: dict[str, h5py.Dataset] = {}

    def visit(name: str, item: Any) -> None:
        if isinstance(item, h5py.Dataset) and name != KSPACE and item.ndim in (2, 3):
            if item.dtype.kind in "biufc" and min(item.shape[-2:]) >= 2 and item.shape[0] >= 1:
                problem = dataset_problem(item)
                if problem is None:
                    found[name] = item
                elif refused is not None:
                    refused[name] = problem

    handle.visititems(visit)
    return found


@contextmanager
def _damage_explained(path: Path) -> Iterator[None]:
    """HDF5 library errors met after opening (objects, links, dataspaces) mean a damaged file: say so."""
    try:
        yield
    except (KeyError, RuntimeError, OSError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ScanReadError(path, f"the HDF5 file is damaged ({detail})") from error


def list_hdf5(path: Path) -> list[ContentChoice]:
    """fastMRI k-space first (when present), then every numeric 2-D / 3-D dataset."""
    with _open(path) as handle, _damage_explained(path):
        choices = []
        refused: dict[str, str] = {}
        if KSPACE in handle:
            kspace = _checked_kspace(path, handle)
            choices.append(ContentChoice("dataset", KSPACE, f"fastMRI k-space {format_shape(kspace.shape)}",
                                         (kspace.shape[0], *kspace.shape[-2:])))
        for name, dataset in _image_datasets(handle, refused).items():
            shape = dataset.shape if dataset.ndim == 3 else (1, *dataset.shape)
            choices.append(ContentChoice("dataset", name, f"dataset '{name}' {format_shape(shape)}", shape))
    if not choices:
        raise ScanReadError(path, next(iter(refused.values()), "the HDF5 file holds no numeric 2-D or 3-D dataset"))
    return choices


def read_hdf5(path: Path, request: ReadRequest) -> Scan:
    """Read the fastMRI k-space layout (default when ``kspace`` exists) or the chosen numeric dataset."""
    with _open(path) as handle, _damage_explained(path):
        name, refused = request.choice, {}
        if name is None:
            name = KSPACE if KSPACE in handle else next(iter(_image_datasets(handle, refused)), None)
        if name is None:
            raise ScanReadError(path, next(iter(refused.values()), "the HDF5 file holds no numeric 2-D or 3-D dataset"))
        if name == KSPACE:
            return _read_fastmri(path, handle, request)
        return _read_dataset(path, handle, str(name), request)


def _checked_kspace(path: Path, handle: h5py.File) -> h5py.Dataset:
    kspace = safe_get(path, handle, KSPACE)
    if isinstance(kspace, h5py.Dataset):
        checked_dataset(path, kspace, "'kspace'")
    if not isinstance(kspace, h5py.Dataset) or kspace.dtype.kind != "c" or kspace.ndim not in (3, 4):
        what = f"{kspace.ndim}-D {kspace.dtype}" if isinstance(kspace, h5py.Dataset) else "a group"
        raise ScanReadError(
            path, f"its 'kspace' is {what}; fastMRI k-space is complex (slices, coils, H, W) or (slices, H, W)"
        )
    check_volume_size(path, (kspace.shape[0], *kspace.shape[-2:]))
    return kspace


def _geometry(path: Path, handle: h5py.File, notes: list[str]) -> IsmrmrdGeometry | None:
    if "ismrmrd_header" not in handle:
        notes.append("no ismrmrd_header: the k-space image is not cropped to a recon size")
        return None
    try:
        dataset = checked_dataset(path, safe_get(path, handle, "ismrmrd_header"), "'ismrmrd_header'")
        if dataset.size * dataset.dtype.itemsize > MAX_HEADER_BYTES:
            raise ValueError(f"it is {dataset.size * dataset.dtype.itemsize} bytes, more than {MAX_HEADER_BYTES}")
        raw = read_checked(path, dataset, ())
        text = raw.tobytes() if isinstance(raw, np.ndarray) else raw
        geometry = parse_ismrmrd_header(text if isinstance(text, (bytes, str)) else str(text))
    except (ValueError, TypeError, KeyError, OSError, ScanReadError) as error:
        notes.append(f"the ismrmrd_header could not be used: {getattr(error, 'reason', error)}")
        return None
    if geometry.recon_fov_mm is None or geometry.encoding_fov_mm is None:
        notes.append("the ismrmrd_header has no fieldOfView_mm: the pixel spacing is unknown (1 mm assumed)")
    return geometry


def _reference_name(path: Path, handle: h5py.File, kspace: h5py.Dataset, notes: list[str]) -> str | None:
    for name in REFERENCE_NAMES:
        dataset = safe_get(path, handle, name)
        if not isinstance(dataset, h5py.Dataset):
            continue
        problem = dataset_problem(dataset)
        if problem:
            notes.append(f"{problem}: no reference")
            continue
        if dataset.ndim == 3 and dataset.dtype.kind in "iuf" and dataset.shape[0] == kspace.shape[0]:
            return name
        notes.append(f"'{name}' {format_shape(dataset.shape)} {dataset.dtype} does not match the k-space: ignored")
    return None


def _read_fastmri(path: Path, handle: h5py.File, request: ReadRequest) -> Scan:
    kspace_dataset = _checked_kspace(path, handle)
    notes = request.warnings
    geometry = _geometry(path, handle, notes)
    reference_name = _reference_name(path, handle, kspace_dataset, notes)
    kspace = LazyH5Dataset(path, KSPACE)
    reference = LazyH5Image(LazyH5Dataset(path, reference_name), notes) if reference_name else None
    if reference is not None:
        volume: Any = reference
    else:
        crop = recon_crop_size(geometry.recon_size, kspace.shape[-1]) if geometry else kspace.shape[-2:]
        volume = LazyZeroFilledRSS(kspace, (int(crop[0]), int(crop[1])), notes)
    check_volume_size(path, volume.shape, request.max_bytes)
    middle = volume[volume.shape[0] // 2]
    return Scan(
        volume=volume,
        modality="MR",
        units="a.u.",
        spacing_mm=geometry.spacing_mm if geometry else (1.0, 1.0, 1.0),
        kspace=kspace,
        reference=reference,
        window=default_window(middle),
        meta=_fastmri_meta(handle, geometry, reference_name),
        source=os.fspath(path),
        mask=_mask(path, handle, notes),
    )


def _mask(path: Path, handle: h5py.File, notes: list[str]) -> np.ndarray | None:
    dataset = safe_get(path, handle, "mask")
    if not isinstance(dataset, h5py.Dataset):
        return None
    if dataset.dtype.kind not in "biuf" or dataset.size > 2**24 or dataset_problem(dataset):
        notes.append(f"'mask' {format_shape(dataset.shape)} {dataset.dtype} is not a sampling mask: ignored")
        return None
    return np.asarray(read_checked(path, checked_dataset(path, dataset, "'mask'"), ())).astype(bool)


def _plain_attribute(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value.item() if isinstance(value, np.generic) else value


def _fastmri_meta(handle: h5py.File, geometry: IsmrmrdGeometry | None, reference_name: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"format": "HDF5 (fastMRI)", "choice": KSPACE, "reference_name": reference_name}
    for key in FASTMRI_ATTRIBUTES:
        if key in handle.attrs:
            meta[key] = _plain_attribute(handle.attrs[key])
    if geometry is not None:
        meta.update(
            encoding_size=geometry.encoding_size,
            recon_size=geometry.recon_size,
            padding_left=geometry.padding_left,
            padding_right=geometry.padding_right,
        )
    return meta


def _read_dataset(path: Path, handle: h5py.File, name: str, request: ReadRequest) -> Scan:
    refused: dict[str, str] = {}
    datasets = _image_datasets(handle, refused)
    if name not in datasets and name not in refused:  # a link, not a listed dataset: say why it is not read
        target = safe_get(path, handle, name)  # refuses a link into another file
        if isinstance(target, h5py.Dataset):
            checked_dataset(path, target, f"'{name}'")  # refuses virtual / external data behind a soft link
    if name in refused:
        raise ScanReadError(path, refused[name])
    if name not in datasets:
        listing = ", ".join(datasets) or "none"
        raise ScanReadError(path, f"it has no numeric 2-D or 3-D dataset '{name}'; its image datasets are: {listing}")
    dataset = datasets[name]
    shape = dataset.shape if dataset.ndim == 3 else (1, *dataset.shape)
    check_volume_size(path, shape, request.max_bytes)
    checked_dataset(path, dataset, f"'{name}'")
    if dataset.dtype.kind == "c":
        request.warnings.append(f"dataset '{name}' is complex: the magnitude is shown")
    volume = sanitise(to_float32(read_checked(path, dataset, ())).reshape(shape), path, request.warnings)
    return Scan(
        volume=np.ascontiguousarray(volume),
        window=default_window(volume[len(volume) // 2]),
        meta={"format": "HDF5", "choice": name},
        source=os.fspath(path),
    )

