"""What an HDF5 file may make HalluView read: only its own data, and never more memory than the limit.

* Links are resolved component by component: external links (into other files) and user-defined links are refused;
  soft links are followed inside the file only, at most ``MAX_SOFT_LINKS`` deep.
* Datasets whose data lives elsewhere are refused before any read: external raw storage (``H5Pset_external``) and
  virtual datasets (which map other files, or the same one: a self-referencing one crashes the HDF5 library).
* Chunked datasets: only the filters HDF5 and h5py build in are accepted; one chunk must fit in the memory limit;
  and, before HDF5 decompresses a chunk, its stored bytes are checked not to inflate beyond the chunk's size (HDF5's
  deflate filter keeps growing its buffer for a chunk that inflates further, so a 2 MB chunk can take gigabytes).
"""
from __future__ import annotations

import io
import math
import os
import zlib
from collections.abc import Iterable
from itertools import product
from typing import Any

import h5py
import numpy as np
from h5py import h5d, h5z

from .errors import ScanReadError
from .guards import check_byte_count, human_bytes
from .limits import BoundedInflater, InflationLimitError

MAX_SOFT_LINKS = 16
#: Filters HDF5 / h5py decode without plug-ins: id -> name.
KNOWN_FILTERS = {h5z.FILTER_DEFLATE: "gzip", h5z.FILTER_SHUFFLE: "shuffle", h5z.FILTER_FLETCHER32: "fletcher32",
                 h5z.FILTER_SZIP: "szip", h5z.FILTER_NBIT: "nbit", h5z.FILTER_SCALEOFFSET: "scaleoffset",
                 h5z.FILTER_LZF: "lzf"}
COMPRESSING_FILTERS = (h5z.FILTER_DEFLATE, h5z.FILTER_SZIP, h5z.FILTER_LZF)
#: Per chunk, HDF5 holds the stored bytes, the chunk and a filter buffer of the chunk's size.
CHUNK_COPIES = 2


def safe_get(path: str | os.PathLike, handle: h5py.File, name: str) -> Any:
    """The object at ``name`` (None when absent), following soft links inside the file only.

    Raises
    ------
    ScanReadError
        If a component of ``name`` is an external or user-defined link, or soft links nest too deep.
    """
    return _resolve(path, handle, name, 0)


def _resolve(path: str | os.PathLike, handle: h5py.File, name: str, depth: int) -> Any:
    if depth > MAX_SOFT_LINKS:
        raise ScanReadError(path, f"its soft links nest more than {MAX_SOFT_LINKS} deep at '{name}'")
    group: Any = handle if name.startswith("/") else handle["/"]
    parts = [part for part in name.split("/") if part not in ("", ".")]
    for index, part in enumerate(parts):
        if not isinstance(group, h5py.Group) or part not in group:
            return None
        link = group.get(part, getlink=True)
        if isinstance(link, h5py.SoftLink):
            target = link.path if link.path.startswith("/") else f"{group.name.rstrip('/')}/{link.path}"
            group = _resolve(path, handle, target, depth + 1)
        elif isinstance(link, h5py.HardLink):
            group = group[part]
        elif isinstance(link, h5py.ExternalLink):
            raise ScanReadError(path, f"'{'/'.join(parts[: index + 1])}' is a link into another file "
                                      f"({link.filename}:{link.path}); HalluView reads only the file it was given")
        else:
            raise ScanReadError(path, f"'{'/'.join(parts[: index + 1])}' is a user-defined link; not followed")
        if group is None:
            return None
    return group


def dataset_problem(dataset: h5py.Dataset) -> str | None:
    """Why HalluView will not read ``dataset`` (data outside the file, unknown filters), or None."""
    plist = dataset.id.get_create_plist()
    name = dataset.name
    if plist.get_layout() == h5d.VIRTUAL:
        return f"dataset '{name}' is a virtual dataset (it maps data from other files or itself); not read"
    if plist.get_external_count() > 0:
        external = plist.get_external(0)[0].decode("utf-8", "replace")
        return f"dataset '{name}' keeps its data in external file(s) (first: {external}); not read"
    codes = [plist.get_filter(index)[0] for index in range(plist.get_nfilters())]
    unknown = [code for code in codes if code not in KNOWN_FILTERS]
    if unknown:
        return f"dataset '{name}' is compressed with HDF5 filter {unknown[0]}, which HalluView does not read"
    compressing = [index for index, code in enumerate(codes) if code in COMPRESSING_FILTERS]
    later = [code for code in codes[compressing[0] + 1 :] if code != h5z.FILTER_FLETCHER32] if compressing else []
    if len(compressing) > 1 or later:
        return f"dataset '{name}' uses an unusual filter pipeline ({', '.join(KNOWN_FILTERS[c] for c in codes)})"
    return None


def checked_dataset(path: str | os.PathLike, dataset: Any, what: str) -> h5py.Dataset:
    """``dataset`` if it is a dataset HalluView reads (see ``dataset_problem``) whose chunks fit in memory.

    Raises
    ------
    ScanReadError
        Naming ``what`` when it is a group, or ``dataset_problem`` / the chunk size when it is refused.
    """
    if not isinstance(dataset, h5py.Dataset):
        raise ScanReadError(path, f"{what} is not a dataset")
    problem = dataset_problem(dataset)
    if problem:
        raise ScanReadError(path, problem)
    if dataset.chunks is not None:
        chunk_bytes = math.prod(dataset.chunks) * dataset.dtype.itemsize
        check_byte_count(path, CHUNK_COPIES * chunk_bytes,
                         f"reading one chunk ({human_bytes(chunk_bytes)}) of dataset '{dataset.name}'")
    return dataset


def read_checked(path: str | os.PathLike, dataset: h5py.Dataset, key: Any, verified: set | None = None) -> Any:
    """``dataset[key]`` after checking that the compressed chunks it touches inflate within their size.

    Parameters
    ----------
    verified : set, optional
        Chunk offsets already checked (kept by the caller so repeated slice reads check each chunk once).
    """
    verified = set() if verified is None else verified
    for offset in _chunks_touched(dataset, key):
        if offset not in verified:
            _check_chunk(path, dataset, offset)
            verified.add(offset)
    return dataset[key]


def _chunks_touched(dataset: h5py.Dataset, key: Any) -> Iterable[tuple[int, ...]]:
    """Offsets of the chunks a read of ``key`` may touch (all chunks unless ``key`` picks slices of axis 0)."""
    if dataset.chunks is None or not _compressing_filters(dataset) or dataset.ndim == 0:
        return ()
    first = key[0] if isinstance(key, tuple) and key else key
    n_first = dataset.shape[0]
    if isinstance(first, (int, np.integer)) and -n_first <= int(first) < n_first:
        rows = range(int(first) % n_first, int(first) % n_first + 1)
    elif isinstance(first, slice):
        rows = range(*first.indices(n_first))
    else:
        rows = range(n_first)
    if not len(rows):
        return ()
    low, high = min(rows[0], rows[-1]), max(rows[0], rows[-1])
    axes = [range(low - low % dataset.chunks[0], high + 1, dataset.chunks[0])]
    axes += [range(0, extent, step) for extent, step in zip(dataset.shape[1:], dataset.chunks[1:])]
    return product(*axes)


def _compressing_filters(dataset: h5py.Dataset) -> list[tuple[int, int, tuple]]:
    """(pipeline index, filter id, client values) of the compressing filter, if any."""
    plist = dataset.id.get_create_plist()
    found = []
    for index in range(plist.get_nfilters()):
        code, _flags, values, _name = plist.get_filter(index)
        if code in COMPRESSING_FILTERS:
            found.append((index, code, tuple(values)))
    return found


def _check_chunk(path: str | os.PathLike, dataset: h5py.Dataset, offset: tuple[int, ...]) -> None:
    info = dataset.id.get_chunk_info_by_coord(offset)
    if info.byte_offset is None:
        return  # never written: HDF5 returns the fill value
    if info.size > os.path.getsize(path):
        raise ScanReadError(path, f"a chunk of dataset '{dataset.name}' claims {info.size} stored bytes, more "
                                  "than the file holds (the file is damaged)")
    filter_mask, stored = dataset.id.read_direct_chunk(offset)
    chunk_bytes = math.prod(dataset.chunks) * dataset.dtype.itemsize
    for index, code, _values in _compressing_filters(dataset):
        if filter_mask & (1 << index):
            continue  # this chunk was stored without that filter
        produced = _inflated_size(code, stored, chunk_bytes)
        if produced > chunk_bytes:
            raise ScanReadError(path, f"a chunk of dataset '{dataset.name}' at {offset} decompresses to more than "
                                      f"its {chunk_bytes} bytes (a decompression bomb?); not read")


def _inflated_size(code: int, stored: bytes, chunk_bytes: int) -> int:
    """Bytes ``stored`` decompresses to, counted at most to ``chunk_bytes + 1`` (beyond means too many)."""
    if code == h5z.FILTER_DEFLATE:
        inflater = BoundedInflater(io.BytesIO(stored), 15, keep=False)
        try:
            inflater.inflate_all(chunk_bytes, "chunk")
            return inflater.size
        except InflationLimitError:
            return chunk_bytes + 1
        except (zlib.error, EOFError):
            return 0  # damaged: HDF5 reports it when reading, within the chunk's buffer
    if code == h5z.FILTER_SZIP:
        return int.from_bytes(stored[:4], "little")  # HDF5 allocates what this prefix says
    return _lzf_size(stored, chunk_bytes)


def _lzf_size(stored: bytes, cap: int) -> int:
    """Output length of an LZF stream (walked, not decoded), stopping once past ``cap``."""
    position, produced, length = 0, 0, len(stored)
    while position < length and produced <= cap:
        control = stored[position]
        position += 1
        if control < 32:  # a run of control + 1 literal bytes
            produced += control + 1
            position += control + 1
        else:  # a back reference: length in the top 3 bits (7 means one more length byte), then an offset byte
            run = control >> 5
            if run == 7 and position < length:
                run += stored[position]
                position += 1
            produced += run + 2
            position += 1
    return produced
