"""Checks every reader applies: memory limit, minimum image size, float32 conversion with NaN/Inf policy.

NaN / Inf policy
----------------
A volume with non-finite voxels is loaded, not refused: NaN becomes 0 and +Inf / -Inf are clipped to the largest /
smallest finite value of the volume (values beyond the float32 range are clipped to it as well). One plain sentence
saying how many voxels were changed is appended to ``scan.meta["warnings"]`` and logged. A volume with no finite
voxel at all is refused. Lazy volumes apply the same rule slice by slice, when the slice is read.
"""
from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from .errors import ScanReadError
from .limits import MEMORY_LIMIT_ENV, memory_limit_bytes

log = logging.getLogger(__name__)

FLOAT32_MAX = float(np.finfo(np.float32).max)
MIN_IMAGE_SIDE = 2
#: Libraries whose warnings during a read describe the file; they are recorded in ``scan.meta["warnings"]``.
FILE_WARNING_SOURCES = ("pydicom", "nibabel", "h5py")


def volume_byte_limit(max_bytes: int | None = None) -> int:
    """The most memory (bytes) a reader may allocate for one volume or one decompressed buffer.

    Parameters
    ----------
    max_bytes : int, optional
        Explicit limit for this read. Default: ``halluview.core.io.MAX_VOLUME_BYTES`` when it is assigned a number
        (looked up at call time), else :func:`~halluview.core.io.limits.memory_limit_bytes`, which follows the
        memory available now (``HALLUVIEW_MEMORY_LIMIT`` overrides it).

    Returns
    -------
    int
        The limit in bytes.
    """
    if max_bytes is not None:
        return int(max_bytes)
    package = sys.modules.get("halluview.core.io")
    assigned = getattr(package, "MAX_VOLUME_BYTES", None)
    return int(assigned) if assigned is not None else memory_limit_bytes()


def human_bytes(n_bytes: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(n_bytes) < 1024 or unit == "TiB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")


def check_volume_size(path: str | os.PathLike, shape: tuple[int, ...], max_bytes: int | None = None) -> None:
    """Refuse, before allocating, a float32 volume of ``shape`` larger than the memory limit or smaller than 2×2.

    Raises
    ------
    ScanReadError
        If an image side is below ``MIN_IMAGE_SIDE``, there is no slice, or the volume exceeds the limit.
    """
    if len(shape) < 3 or shape[0] < 1:
        raise ScanReadError(path, f"it holds no image slice (shape {format_shape(shape)})")
    if min(shape[-2:]) < MIN_IMAGE_SIDE:
        raise ScanReadError(
            path,
            f"the image is only {shape[-2]}×{shape[-1]} pixels; at least {MIN_IMAGE_SIDE}×{MIN_IMAGE_SIDE} is needed",
        )
    n_bytes = 4 * float(np.prod(np.asarray(shape, dtype=np.float64)))
    check_byte_count(path, n_bytes, f"the image volume ({format_shape(shape)} voxels) as float32", max_bytes)


def check_byte_count(path: str | os.PathLike, n_bytes: float, what: str, max_bytes: int | None = None) -> None:
    """Refuse to allocate ``n_bytes`` for ``what`` when that exceeds the memory limit.

    Raises
    ------
    ScanReadError
        Saying how much memory ``what`` would need and what the limit is.
    """
    limit = volume_byte_limit(max_bytes)
    if n_bytes > limit:
        raise ScanReadError(
            path,
            f"{what} would need {human_bytes(n_bytes)} of memory, more than the {human_bytes(limit)} limit "
            f"(free memory, or raise the limit: {MEMORY_LIMIT_ENV}=16G, halluview.core.io.MAX_VOLUME_BYTES "
            "or max_bytes=)",
        )


def format_shape(shape: tuple[int, ...]) -> str:
    """``(3, 4, 5)`` -> ``"3×4×5"``."""
    return "×".join(str(int(n)) for n in shape) or "empty"


def to_float32(values: np.ndarray) -> np.ndarray:
    """Real float32 copy of numeric pixel values (complex -> magnitude).

    Finite values beyond the float32 range are clipped to it; ±Inf and NaN stay as they are, so that ``sanitise``
    replaces them by the policy (±Inf -> the finite extremes of the data, NaN -> 0) and says so.

    Raises
    ------
    TypeError
        If the array is not numeric (object, string, structured dtypes).
    """
    values = np.asarray(values)
    if values.dtype.kind == "c":
        values = np.abs(values)
    if values.dtype.kind not in "biuf":
        raise TypeError(f"pixel values of type {values.dtype} are not numbers")
    if values.dtype.kind != "f" or values.dtype.itemsize <= 4:
        return values.astype(np.float32, copy=False)
    converted = np.empty(values.shape, dtype=np.float32)
    for source, target in zip(_slices_of(values), _slices_of(converted)):  # slice by slice: small temporaries
        with np.errstate(invalid="ignore", over="ignore"):
            target[...] = np.where(np.isinf(source), source, np.clip(source, -FLOAT32_MAX, FLOAT32_MAX))
    return converted


def sanitise(volume: np.ndarray, path: str | os.PathLike, warnings_out: list[str], what: str = "volume") -> np.ndarray:
    """Apply the NaN / Inf policy (module docstring) to a float32 array in place and record what was changed.

    Returns
    -------
    np.ndarray
        The same array, now finite.

    Raises
    ------
    ScanReadError
        If no voxel is finite.
    """
    bad_slices = [index for index, image in enumerate(_slices_of(volume)) if not np.isfinite(image).all()]
    if not bad_slices:
        return volume
    finite_low, finite_high, n_bad = np.inf, -np.inf, 0
    for image in _slices_of(volume):
        finite = image[np.isfinite(image)]
        n_bad += image.size - finite.size
        if finite.size:
            finite_low, finite_high = min(finite_low, float(finite.min())), max(finite_high, float(finite.max()))
    if n_bad == volume.size:
        raise ScanReadError(path, f"every voxel of the {what} is NaN or infinite")
    slices = _slices_of(volume)
    for index in bad_slices:
        np.nan_to_num(slices[index], copy=False, nan=0.0, posinf=finite_high, neginf=finite_low)
    message = (
        f"{n_bad} voxel(s) of the {what} were NaN or infinite: NaN was set to 0, "
        f"±Inf clipped to [{finite_low:g}, {finite_high:g}]"
    )
    warnings_out.append(message)
    log.warning("%s: %s", os.fspath(path), message)
    return volume


def _slices_of(volume: np.ndarray) -> np.ndarray:
    """Iterate a volume slice by slice (a 2-D image is one slice), so checks never allocate a volume-sized mask."""
    return volume if volume.ndim > 2 else volume[np.newaxis]


def default_window(image: np.ndarray) -> tuple[float, float]:
    """A display window (centre, width) spanning the 0.5–99.5 percentiles of ``image``."""
    low, high = np.percentile(np.asarray(image, dtype=np.float32), [0.5, 99.5])
    width = float(high - low) if high > low else 1.0
    return float(low + width / 2), width


@contextmanager
def recorded_library_warnings(warnings_out: list[str]) -> Iterator[None]:
    """Record, rather than raise, the warnings pydicom / nibabel / h5py emit while reading a file.

    Warnings from other modules are re-issued unchanged. ``warnings.catch_warnings`` changes process-wide state, so
    concurrent reads from several threads may see each other's warnings recorded.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for item in caught:
        if _is_file_warning(item):
            text = str(item.message).strip().splitlines()[0] if str(item.message).strip() else item.category.__name__
            if text not in warnings_out:
                warnings_out.append(text)
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno, source=item.source)


def _is_file_warning(item: warnings.WarningMessage) -> bool:
    """A warning about the file: issued inside a reading library, or attributed by it (``stacklevel``) to a reader."""
    filename = item.filename.replace("\\", "/")
    if any(f"/{package}/" in filename for package in FILE_WARNING_SOURCES):
        return True
    attributed_to_reader = "/halluview/core/io/" in filename
    return attributed_to_reader and not issubclass(item.category, (RuntimeWarning, DeprecationWarning))
