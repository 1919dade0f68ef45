"""NIfTI-1 / NIfTI-2 reader (.nii, .nii.gz), 3-D or 4-D (one volume chosen with ``volume=``).

Orientation
-----------
The array is reoriented to the closest canonical orientation (what ``nibabel.as_closest_canonical`` gives: axes
x -> Right, y -> Anterior, z -> Superior) and then laid out as ``(slices, rows, columns)`` like a DICOM axial
series in radiological convention::

    volume[k, r, c] = canonical[X - 1 - c, Y - 1 - r, k]

so slices run along z from inferior to superior, rows along y from anterior (top of the image) to posterior, and
columns along x from the patient's right (left of the image) to the patient's left. ``Scan.orientation`` is
therefore always ``"SPL"`` (the patient direction each index increases towards), ``spacing_mm`` is
(z, y, x) zooms, and ``Scan.affine`` maps (slice, row, column) indices to RAS mm. The file's own affine is kept in
``meta["source_affine"]`` so writers can store results in the input's orientation.

Integrity
---------
Before any voxel is read, the data must match the header: an uncompressed file as long as described; a ``.nii.gz``
inflated once (constant memory) to verify its gzip CRC and length and that it holds neither less nor (much) more
than described (``nifti_checks``).

Memory
------
Voxel values are scaled by nibabel (``scl_slope`` / ``scl_inter``) through the array proxy, reading only the
chosen 4-D volume. An uncompressed file whose float32 volume exceeds ``LAZY_NIFTI_BYTES`` is memory-mapped and
read slice by slice on indexing (``LazyNiftiVolume``); compressed files are decompressed once (random access into
gzip would re-decompress for every slice).
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError
from nibabel.orientations import apply_orientation, axcodes2ornt, inv_ornt_aff, io_orientation, ornt_transform
from nibabel.spatialimages import HeaderDataError

from ..scan import Scan
from .errors import ContentChoice, ScanReadError
from .guards import check_volume_size, default_window, format_shape, sanitise, to_float32
from .lazy import LazySliceVolume
from .limits import open_regular_file
from .nifti_checks import check_data_length, check_gzip_integrity, check_volume_count
from .registry import ReadRequest
from .sniffers import NIFTI_HEADER_SIZES

DISPLAY_AXES = ("S", "P", "L")
LAZY_NIFTI_BYTES = 512 * 1024**2
NIFTI_MAGICS = {344: (b"n+1\x00", b"ni1\x00"), 4: (b"n+2\x00", b"ni2\x00")}


def usable_affine(image: Any, notes: list[str]) -> np.ndarray:
    """The image's affine, or (with a note) the one built from the voxel sizes when it is not finite or degenerate."""
    affine = np.asarray(image.affine, dtype=float)
    if np.all(np.isfinite(affine)) and not np.isnan(io_orientation(affine)).any():
        return affine
    notes.append("the orientation (affine) in the header is unusable: the axes are taken as stored")
    zooms = [float(z) if np.isfinite(z) and z > 0 else 1.0 for z in image.header.get_zooms()[:3]] + [1.0] * 3
    return np.diag([*zooms[:3], 1.0])


def display_transform(affine: np.ndarray) -> np.ndarray:
    """nibabel orientation transform from the file's array axes to (slice, row, column) = (S, P, L)."""
    return ornt_transform(io_orientation(affine), axcodes2ornt(DISPLAY_AXES))


def _header_bytes(path: Path) -> int:
    """How many bytes of (decompressed) header the file can give, up to 1 KiB."""
    with open_regular_file(path) as stream:
        start = stream.read(64 * 1024)
    if not start.startswith(b"\x1f\x8b"):
        return len(start)
    for compressed in (start, start[:-8]):  # a bad gzip trailer is reported by check_data_length, not here
        try:
            return len(zlib.decompressobj(wbits=31).decompress(compressed, 1024))
        except zlib.error:
            continue
    return 0


def _load(path: Path) -> Any:
    available = _header_bytes(path)
    if available < NIFTI_HEADER_SIZES[0]:
        raise ScanReadError(path, f"it holds only {available} bytes of header, less than a NIfTI header: "
                                  "it is truncated")
    try:
        image = nib.load(os.fspath(path))
    except (ImageFileError, HeaderDataError, ValueError, OSError, EOFError) as error:
        check_gzip_integrity(path)  # a damaged gzip stream makes nibabel's messages misleading
        raise ScanReadError(path, f"its NIfTI header is invalid ({error})") from error
    if not isinstance(image, (nib.Nifti1Pair, nib.Nifti2Pair)):
        raise ScanReadError(path, f"it is a {type(image).__name__} image, not NIfTI")
    return image


def _spatial_shape(path: Path, image: Any) -> tuple[tuple[int, int, int], int]:
    """(x, y, z) shape and the number of volumes; 2-D images get z = 1; 5-D and more are refused."""
    shape = tuple(int(n) for n in image.shape)
    if len(shape) > 4 and any(n != 1 for n in shape[4:]):
        raise ScanReadError(path, f"it has {len(shape)} dimensions ({format_shape(shape)}); only 3-D and 4-D are read")
    if len(shape) < 2 or any(n < 1 for n in shape):
        raise ScanReadError(path, f"its image shape {format_shape(shape)} holds no 2-D image")
    spatial = (shape + (1, 1))[:3]
    return (spatial[0], spatial[1], spatial[2]), shape[3] if len(shape) >= 4 else 1


def list_nifti(path: Path) -> list[ContentChoice]:
    """One choice per volume of a 4-D file (one choice for a 3-D file)."""
    image = _load(path)
    spatial, n_volumes = _spatial_shape(path, image)
    check_data_length(path, image)
    check_volume_count(path, n_volumes)
    display_shape = _display_shape(usable_affine(image, []), spatial)
    if n_volumes == 1:
        return [ContentChoice("volume", 0, f"NIfTI volume {format_shape(display_shape)}", display_shape)]
    return [
        ContentChoice("volume", index, f"volume {index + 1} of {n_volumes} ({format_shape(display_shape)})",
                      display_shape)
        for index in range(n_volumes)
    ]


def _display_shape(affine: np.ndarray, spatial: tuple[int, int, int]) -> tuple[int, int, int]:
    transform = display_transform(affine)
    shape = [0, 0, 0]
    for file_axis, (display_axis, _flip) in enumerate(transform):
        shape[int(display_axis)] = spatial[file_axis]
    return shape[0], shape[1], shape[2]


def read_nifti(path: Path, request: ReadRequest) -> Scan:
    """Read one volume of a NIfTI file, reoriented as described in the module docstring."""
    image = _load(path)
    spatial, n_volumes = _spatial_shape(path, image)
    index = _volume_index(path, request.choice, n_volumes)
    affine = usable_affine(image, request.warnings)
    transform = display_transform(affine)
    display_shape = _display_shape(affine, spatial)
    check_volume_size(path, display_shape, request.max_bytes)
    check_data_length(path, image)
    compressed = str(path).lower().endswith(".gz")
    large = 4 * np.prod(display_shape, dtype=np.float64) > LAZY_NIFTI_BYTES
    if large and not compressed and len(image.shape) >= 3:
        volume: Any = LazyNiftiVolume(path, image, index, transform, display_shape, request.warnings)
        middle = volume[display_shape[0] // 2]
    else:
        volume = _eager_volume(path, image, index, spatial, transform, request.warnings)
        middle = volume[display_shape[0] // 2]
    zooms = [float(z) for z in image.header.get_zooms()[:3]] + [1.0] * 3
    spacing = [1.0, 1.0, 1.0]
    for file_axis, (display_axis, _flip) in enumerate(transform):
        spacing[int(display_axis)] = zooms[file_axis] if zooms[file_axis] > 0 else 1.0
    display_affine = affine @ inv_ornt_aff(transform, spatial)
    return Scan(
        volume=volume,
        modality="OT",
        units="a.u.",
        spacing_mm=(spacing[0], spacing[1], spacing[2]),
        orientation="".join(DISPLAY_AXES),
        window=_calibrated_window(image) or default_window(middle),
        meta=_meta(image, affine, index, n_volumes, spatial),
        source=os.fspath(path),
        affine=display_affine,
    )


def _volume_index(path: Path, choice: Any, n_volumes: int) -> int:
    index = 0 if choice is None else int(choice)
    if not 0 <= index < n_volumes:
        raise ScanReadError(path, f"it has {n_volumes} volume(s); volume {choice} does not exist")
    return index


def _eager_volume(
    path: Path, image: Any, index: int, spatial: tuple[int, int, int], transform: np.ndarray, notes: list[str]
) -> np.ndarray:
    key = (slice(None),) * len(image.shape[:3]) + ((index,) if len(image.shape) >= 4 else ())
    key = key + (0,) * (len(image.shape) - len(key))
    try:
        raw = np.asarray(image.dataobj[key])
    except (OSError, EOFError, zlib.error) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ScanReadError(path, f"its image data ends early or is corrupt ({detail})") from error
    values = _real_values(path, raw, notes).reshape(spatial)
    volume = np.ascontiguousarray(apply_orientation(values, transform), dtype=np.float32)
    return sanitise(volume, path, notes)


def _real_values(path: Path, values: np.ndarray, notes: list[str]) -> np.ndarray:
    if values.dtype.kind == "c":
        notes.append("complex voxel values: the magnitude is shown")
    try:
        return to_float32(values)
    except TypeError as error:
        raise ScanReadError(path, f"its voxels are not plain numbers ({values.dtype}, e.g. RGB): not supported") from (
            error
        )


def _calibrated_window(image: Any) -> tuple[float, float] | None:
    low, high = float(image.header["cal_min"]), float(image.header["cal_max"])
    if np.isfinite(low) and np.isfinite(high) and high > low:
        return (low + high) / 2, high - low
    return None


def _meta(image: Any, affine: np.ndarray, index: int, n_volumes: int, spatial: tuple[int, int, int]) -> dict[str, Any]:
    zooms = image.header.get_zooms()
    return {
        "format": "NIfTI-2" if isinstance(image.header, nib.Nifti2Header) else "NIfTI-1",
        "choice": index,
        "n_volumes": n_volumes,
        "source_affine": affine.tolist(),
        "source_shape": list(spatial),
        "source_axcodes": "".join(nib.aff2axcodes(affine)),
        "time_step": float(zooms[3]) if len(zooms) > 3 else None,
    }


class LazyNiftiVolume(LazySliceVolume):
    """A memory-mapped NIfTI volume read one display slice at a time, reoriented like the eager path."""

    def __init__(
        self, path: Path, image: Any, index: int, transform: np.ndarray, shape: tuple[int, int, int], notes: list[str]
    ) -> None:
        super().__init__(path, shape, notes)
        self._proxy = image.dataobj
        self._extra = (index,) if len(image.shape) >= 4 else ()
        self._extra += (0,) * (len(image.shape) - 3 - len(self._extra))
        self._transform = np.asarray(transform)
        self._slice_axis = int(np.flatnonzero(self._transform[:, 0] == 0)[0])
        in_plane = [axis for axis in range(3) if axis != self._slice_axis]
        self._plane_transform = np.array([[self._transform[a, 0] - 1, self._transform[a, 1]] for a in in_plane])

    def _read_slice(self, index: int) -> np.ndarray:
        flip = self._transform[self._slice_axis, 1]
        file_index = index if flip > 0 else self.shape[0] - 1 - index
        key: list[Any] = [slice(None)] * 3
        key[self._slice_axis] = file_index
        plane = np.asarray(self._proxy[tuple(key) + self._extra])
        return apply_orientation(plane, self._plane_transform)

