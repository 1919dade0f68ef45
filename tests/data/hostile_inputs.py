"""Inputs that are readable but cannot be attacked, for the tests of halluview.core.validation / data_checks and
the CLI: fastMRI files with a broken ``max``, no sampled k-space column, no coil or a tiny recon size; a constant
volume; TorchScript reconstructions whose output is NaN, zero or detached from the measurement; a checkpoint that
runs code when unpickled."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import h5py
import numpy as np
import torch
from fastmri_fixture import phantom_volume, write_fastmri_h5

MARKER = "PWNED"
"""The file a malicious pickle writes into the working directory when it is (wrongly) loaded."""


def fastmri_with_max(path: Path, value) -> Path:
    """A single-coil fastMRI file whose attrs['max'] (the metrics' data range) is ``value``."""
    fixture = write_fastmri_h5(path, phantom_volume(2, 32, 24), n_coils=None, acceleration=1)
    with h5py.File(fixture.path, "a") as handle:
        handle.attrs["max"] = value
    return fixture.path


def fastmri_without_sampled_columns(path: Path) -> Path:
    """A fastMRI file whose header's encoding limits leave an empty band (padding_left == padding_right)."""
    fixture = write_fastmri_h5(path, phantom_volume(2, 32, 24), n_coils=None, acceleration=1)
    with h5py.File(fixture.path, "a") as handle:
        header = handle["ismrmrd_header"][()].decode()
        header = re.sub(r"(<kspace_encoding_step_1><minimum>0</minimum><maximum>)\d+", r"\g<1>-1", header)
        del handle["ismrmrd_header"]
        handle.create_dataset("ismrmrd_header", data=np.bytes_(header.encode()))
    return fixture.path


def fastmri_without_coils(path: Path) -> Path:
    """A multi-coil fastMRI file whose k-space has zero coils: shape (slices, 0, H, W)."""
    fixture = write_fastmri_h5(path, phantom_volume(2, 32, 24), n_coils=2, acceleration=1)
    with h5py.File(fixture.path, "a") as handle:
        empty = handle["kspace"][()][:, :0]
        del handle["kspace"]
        handle.create_dataset("kspace", data=empty)
    return fixture.path


def fastmri_tiny(path: Path) -> Path:
    """A fastMRI file whose recon size (4×4) is smaller than the 7×7 SSIM window."""
    return write_fastmri_h5(path, phantom_volume(2, 4, 4), n_coils=None, acceleration=1).path


def constant_volume(path: Path, value: float = 3.0) -> Path:
    """A .npy volume whose every pixel is ``value`` (nothing to reconstruct)."""
    np.save(path, np.full((2, 32, 32), value, dtype=np.float32))
    return path


class _NaN(torch.nn.Module):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image * float("nan")


class _Zero(torch.nn.Module):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image * 0.0


class _Detached(torch.nn.Module):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image.detach() + 1.0


class _Constant(torch.nn.Module):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(image) + 0.0 * image  # attached to y, but its gradient is zero


BAD_MODELS = {"nan": _NaN, "zero": _Zero, "detached": _Detached, "constant": _Constant}


def torchscript_model(path: Path, kind: str) -> Path:
    """A TorchScript reconstruction (applied to the baseline image) of one of :data:`BAD_MODELS`' kinds."""
    with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript; users still have such files
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(BAD_MODELS[kind]()).save(str(path))
    return path


class _RunsCode:
    def __reduce__(self):
        return (exec, (f"open({MARKER!r}, 'w').write('x')",))


def malicious_checkpoint(path: Path) -> Path:
    """A checkpoint whose unpickling writes :data:`MARKER` into the working directory."""
    torch.save({"weight": _RunsCode()}, path)
    return path
