"""Checks on what a scan and a reconstruction actually give, once loaded and before the attack loop starts.

Settings can be valid and still meet a file or a model that cannot be attacked: a fastMRI ``max`` that is no
positive number, a header that leaves no k-space column sampled, k-space without coils, a constant slice, a
reconstruction smaller than the SSIM window, a model whose output is NaN, zero or does not depend on the
measurement. Each is an :class:`~halluview.core.validation.ExperimentError` with one line for the user.
"""
from __future__ import annotations

import math
import weakref

import numpy as np
import torch

from .errors import BY_TRANSFER
from .validation import SSIM_WINDOW, ExperimentError


def checked_data_range(value, where: str) -> float | None:
    """The file's intensity range for SSIM / PSNR (fastMRI ``max``): None, or a finite positive number."""
    if value is None:
        return None
    try:
        number = float(np.asarray(value).reshape(-1)[0]) if np.size(value) == 1 else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise ExperimentError(f"{where}: its 'max' attribute ({value!r}) is not a positive number, so SSIM and PSNR "
                              "against its reference have no intensity range")
    return number


def check_image(image: np.ndarray, where: str, index: int) -> None:
    """The slice has contrast: a constant image measures nothing an attack could change."""
    if image.size == 0 or not np.isfinite(image).all():
        raise ExperimentError(f"{where}: slice {index} holds no finite image")
    if float(image.max()) == float(image.min()):
        raise ExperimentError(f"{where}: slice {index} is constant (every pixel {float(image.flat[0]):g}); "
                              "there is nothing to reconstruct: pick another slice")


def check_measurement(y: torch.Tensor, op, where: str, index: int) -> None:
    """Coils, sampled columns and a non-zero measurement."""
    mask = getattr(op, "mask", None)
    if y.dim() >= 2 and op.config().get("kind") == "mri" and y.shape[1] == 0:
        raise ExperimentError(f"{where}: its k-space holds no coil (shape {tuple(y.shape[1:])})")
    if mask is not None and not bool(torch.as_tensor(mask).any()):
        raise ExperimentError(f"{where}: no k-space column is sampled (the header's encoding limits and the mask "
                              "leave none); try another mask or acceleration, or check the file's header")
    if y.numel() == 0 or not bool(torch.isfinite(torch.view_as_real(y) if y.is_complex() else y).all()):
        raise ExperimentError(f"{where}: slice {index} gives an empty or non-finite measurement")
    if float(y.abs().max()) == 0:
        raise ExperimentError(f"{where}: slice {index} gives an all-zero measurement; there is nothing to attack")


def clean_reconstruction(recon: torch.nn.Module, y: torch.Tensor, name: str) -> torch.Tensor:
    """f(y), with a failing, NaN, all-zero or too small output as a user error."""
    try:
        with torch.no_grad():
            clean = recon(y)
    except ValueError as err:  # the reconstruction's own words (e.g. a size it was not made for)
        raise ExperimentError(f"{name}: {_first_line(err)}") from None
    except (RuntimeError, IndexError) as err:  # e.g. a user's network that cannot take this shape
        raise ExperimentError(f"{name} could not reconstruct this {_shape(y)} measurement "
                              f"({type(err).__name__}: {_first_line(err)})") from None
    if not isinstance(clean, torch.Tensor) or clean.dim() < 2:
        raise ExperimentError(f"{name} returned {type(clean).__name__}, not an image")
    if not bool(torch.isfinite(clean).all()):
        raise ExperimentError(f"{name} gives NaN or infinite pixels on this measurement; it cannot be attacked")
    if float(clean.abs().max()) == 0:
        raise ExperimentError(f"{name} gives an all-zero image on this measurement; it cannot be attacked")
    rows, cols = clean.shape[-2:]
    if min(rows, cols) < SSIM_WINDOW:
        raise ExperimentError(f"{name} gives a {rows}×{cols} image, smaller than the {SSIM_WINDOW}×{SSIM_WINDOW} "
                              "SSIM window")
    return clean


_gradient_checked: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # module -> weak ref to the y it passed


def check_gradient(recon: torch.nn.Module, y: torch.Tensor, name: str) -> None:
    """One gradient probe: the attack climbs ∂f/∂y, so f(y) must depend on y differentiably (not detached). Once
    per module and measurement: a study's cells that share both are probed once."""
    passed = _gradient_checked.get(recon)
    if passed is not None and passed() is y:
        return
    _probe_gradient(recon, y, name)
    _gradient_checked[recon] = weakref.ref(y)


def _probe_gradient(recon: torch.nn.Module, y: torch.Tensor, name: str) -> None:
    probe = y.detach().clone().requires_grad_(True)
    try:
        with torch.enable_grad():
            output = recon(probe)
            if not output.requires_grad:
                gradient = None
            else:  # fixed random weights: a plain sum can be constant (e.g. a zero-mean output)
                weights = torch.randn(output.shape, generator=torch.Generator().manual_seed(0))
                score = (output * weights.to(output.device, output.dtype)).real.sum()
                (gradient,) = torch.autograd.grad(score, probe, allow_unused=True)
    except RuntimeError as err:
        raise ExperimentError(f"{name} cannot be differentiated ({_first_line(err)})", BY_TRANSFER) from None
    if gradient is None or float(gradient.abs().max()) == 0:
        raise ExperimentError(f"{name}'s output does not depend on the measurement (no gradient): there is nothing "
                              "to attack directly", BY_TRANSFER)
    if not bool(torch.isfinite(torch.view_as_real(gradient) if gradient.is_complex() else gradient).all()):
        raise ExperimentError(f"{name} gives NaN gradients on this measurement; it cannot be attacked directly")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _shape(y: torch.Tensor) -> str:
    return "×".join(str(n) for n in y.shape[1:])
