"""Slice-indexable volumes that read (or compute) one slice at a time instead of loading a whole file.

They behave like read-only arrays for what the rest of HalluView does with a volume: ``shape``, ``dtype``,
``ndim``, ``len()``, ``volume[i]`` (one 2-D float32 slice), ``volume[a:b]``, ``volume[i, rows, cols]`` and
``np.asarray(volume)`` (reads everything, subject to the memory limit).
"""
from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from .errors import ScanReadError
from .guards import check_byte_count, check_volume_size, sanitise, to_float32
from .registry import plain_reason


class LazySliceVolume:
    """Base class: a float32 volume (n_slices, H, W) whose slices are produced by ``_read_slice``.

    Parameters
    ----------
    path : str or os.PathLike
        The source file, named in errors.
    shape : tuple of int
        (n_slices, H, W).
    warnings_out : list of str
        Where the NaN / Inf policy records what it changed (normally ``scan.meta["warnings"]``).
    """

    dtype = np.dtype(np.float32)
    ndim = 3

    def __init__(self, path: str | os.PathLike, shape: tuple[int, int, int], warnings_out: list[str]) -> None:
        self.path = os.fspath(path)
        self.shape = tuple(int(n) for n in shape)
        self._warnings = warnings_out
        self._warned_slices: set[int] = set()

    def _read_slice(self, index: int) -> np.ndarray:
        """The raw 2-D slice ``index`` (any numeric dtype); subclasses implement it."""
        raise NotImplementedError

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, shape={self.shape})"

    def slice_image(self, index: int) -> np.ndarray:
        """Slice ``index`` as finite float32 (H, W); damaged data raises ``ScanReadError``."""
        n_slices = self.shape[0]
        if not -n_slices <= index < n_slices:
            raise IndexError(f"slice {index} is outside 0..{n_slices - 1} of {self.path}")
        index %= n_slices
        try:
            image = to_float32(self._read_slice(index))
        except ScanReadError:
            raise
        except Exception as error:  # noqa: BLE001 - reading boundary, see registry.translated_errors
            raise ScanReadError(self.path, f"slice {index} could not be read: {plain_reason(error)}") from error
        if image.shape != self.shape[1:]:
            raise ScanReadError(self.path, f"slice {index} has shape {image.shape}, expected {self.shape[1:]}")
        notes: list[str] = []
        image = sanitise(np.array(image, dtype=np.float32), self.path, notes, what=f"slice {index}")
        if notes and index not in self._warned_slices:
            self._warned_slices.add(index)
            self._warnings.extend(notes)
        return image

    def __getitem__(self, key: Any) -> np.ndarray:
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) and key else (key, ())
        if first is Ellipsis and not rest:
            first = slice(None)
        if isinstance(first, (int, np.integer)):
            image = self.slice_image(int(first))
            return image[rest] if rest else image
        if isinstance(first, slice):
            indices = range(*first.indices(self.shape[0]))
        elif isinstance(first, (list, np.ndarray)):
            indices = [int(i) for i in np.asarray(first).ravel()]
        else:
            raise IndexError(f"{type(self).__name__} is indexed by slice number first, not by {first!r}")
        stacked = np.empty((len(indices), *self.shape[1:]), dtype=np.float32)
        for position, index in enumerate(indices):
            stacked[position] = self.slice_image(index)
        return stacked[(slice(None), *rest)] if rest else stacked

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        check_volume_size(self.path, self.shape)
        values = self[:]
        return values if dtype is None else values.astype(dtype, copy=False)


class LazyH5Dataset:
    """Read-only, slice-indexable view of one HDF5 dataset; the file stays open (read-only) until ``close()``.

    Indexing returns the stored values (e.g. complex64 k-space) of just the requested part, read with h5py slicing.
    Errors from a damaged file are raised as ``ScanReadError``.

    Parameters
    ----------
    path : str or os.PathLike
        HDF5 file.
    name : str
        Dataset path inside the file, e.g. ``"kspace"``.
    """

    def __init__(self, path: str | os.PathLike, name: str) -> None:
        self.path = os.fspath(path)
        self.name = name
        self._handle: Any = None
        self._lock = threading.Lock()
        dataset = self._dataset()
        self.shape = tuple(int(n) for n in dataset.shape)
        self.dtype = np.dtype(dataset.dtype)
        self.ndim = len(self.shape)

    def _dataset(self) -> Any:
        import h5py

        from .hdf5_safety import checked_dataset, safe_get

        if self._handle is None:
            self._handle = h5py.File(self.path, "r")
            self._verified_chunks: set[tuple[int, ...]] = set()
        return checked_dataset(self.path, safe_get(self.path, self._handle, self.name), f"'{self.name}'")

    def __getitem__(self, key: Any) -> np.ndarray:
        from .hdf5_safety import read_checked

        with self._lock:
            try:
                return np.asarray(read_checked(self.path, self._dataset(), key, self._verified_chunks))
            except (IndexError, TypeError, ScanReadError):
                raise
            except Exception as error:  # noqa: BLE001 - reading boundary
                raise ScanReadError(self.path, f"dataset '{self.name}' {key!r}: {plain_reason(error)}") from error

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        n_bytes = float(np.prod(np.asarray(self.shape, dtype=np.float64))) * self.dtype.itemsize
        check_byte_count(self.path, n_bytes, f"dataset '{self.name}'")
        values = self[()]
        return values if dtype is None else values.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"LazyH5Dataset({self.path!r}, {self.name!r}, shape={self.shape}, dtype={self.dtype})"

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["name"])  # type: ignore[misc]

    def close(self) -> None:
        """Close the HDF5 file; the next access reopens it."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


class LazyH5Image(LazySliceVolume):
    """A real image volume stored in HDF5 (e.g. fastMRI ``reconstruction_rss``), read slice by slice as float32."""

    def __init__(self, dataset: LazyH5Dataset, warnings_out: list[str]) -> None:
        super().__init__(dataset.path, (dataset.shape[0], *dataset.shape[-2:]), warnings_out)
        self.dataset = dataset

    def _read_slice(self, index: int) -> np.ndarray:
        return self.dataset[index]


def centered_ifft2(kspace: np.ndarray) -> np.ndarray:
    """Centred orthonormal inverse 2-D FFT over the last two axes (the fastMRI convention)."""
    axes = (-2, -1)
    shifted = np.fft.ifftshift(kspace, axes=axes)
    return np.fft.fftshift(np.fft.ifft2(shifted, axes=axes, norm="ortho"), axes=axes)


def center_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Central (height, width) window of the last two axes; a side smaller than requested is kept whole."""
    rows, cols = image.shape[-2:]
    top, left = max((rows - height) // 2, 0), max((cols - width) // 2, 0)
    return image[..., top : top + min(height, rows), left : left + min(width, cols)]


class LazyZeroFilledRSS(LazySliceVolume):
    """Root-sum-of-squares of the inverse FFT of each k-space slice, centre-cropped: computed on indexing.

    Parameters
    ----------
    kspace : LazyH5Dataset
        (n_slices, coils, H, W) or (n_slices, H, W) complex k-space (unacquired entries zero).
    crop : tuple of int
        (height, width) of the centre crop (the fastMRI recon size).
    warnings_out : list of str
        See ``LazySliceVolume``.
    """

    def __init__(self, kspace: LazyH5Dataset, crop: tuple[int, int], warnings_out: list[str]) -> None:
        height, width = min(crop[0], kspace.shape[-2]), min(crop[1], kspace.shape[-1])
        super().__init__(kspace.path, (kspace.shape[0], height, width), warnings_out)
        self.kspace = kspace

    def _read_slice(self, index: int) -> np.ndarray:
        image = centered_ifft2(self.kspace[index].astype(np.complex64, copy=False))
        magnitude = np.sqrt(np.sum(np.abs(image) ** 2, axis=0)) if image.ndim == 3 else np.abs(image)
        return center_crop(magnitude, *self.shape[1:])
