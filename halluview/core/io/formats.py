"""The formats HalluView reads, in sniffing order: NumPy, HDF5, NIfTI, DICOM (which also takes folders).

Each reader's module, and the library it needs (h5py, nibabel, pydicom), is imported when the first file of its
format is read or listed, not when the package is: the app's window opens without them.
"""
from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from .numpy_reader import list_numpy, read_numpy, sniff_numpy
from .registry import FormatReader, register_reader
from .sniffers import sniff_dicom, sniff_hdf5, sniff_nifti


def on_first_use(module: str, function: str) -> Callable:
    """``function`` of this package's ``module``, imported at its first call."""
    def call(*args, **kwargs):
        return getattr(import_module(f".{module}", __package__), function)(*args, **kwargs)

    call.__name__ = call.__qualname__ = function
    return call


register_reader(FormatReader("NumPy", sniff_numpy, read_numpy, list_numpy, "dataset", (".npy", ".npz")))
register_reader(FormatReader("HDF5", sniff_hdf5, on_first_use("hdf5_reader", "read_hdf5"),
                             on_first_use("hdf5_reader", "list_hdf5"), "dataset", (".h5", ".hdf5", ".hdf")))
register_reader(FormatReader("NIfTI", sniff_nifti, on_first_use("nifti_reader", "read_nifti"),
                             on_first_use("nifti_reader", "list_nifti"), "volume", (".nii", ".nii.gz")))
register_reader(FormatReader("DICOM", sniff_dicom, on_first_use("dicom_reader", "read_dicom"),
                             on_first_use("dicom_reader", "list_dicom"), "series", (".dcm", ".dicom", ".ima")))
