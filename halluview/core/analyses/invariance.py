"""Invariances (Eulig et al.): an input far from the object whose reconstruction barely changes.

With f(x) the reconstruction of the acquisition of x (``f(inputs.acquire(x))``, the measurement's own noise kept),
Adam minimises, per image,

    d_out(f(x_inv), f(x)) − α · d_in(x_inv, x)

from x_inv = x + N(0, start_sigma²). d_in is the RMS change ‖x_inv − x‖ / sqrt(H·W) (working units); d_out is the
mean squared error (squared working units) or (1 − SSIM) / 2 (dimensionless). After every step x_inv is projected
back into the object's own intensity range [min x, max x] (so the search cannot run off to infinity or exploit the
sign of a magnitude image) and, with a region and ``in_region``, x_inv − x is set to zero outside the region; d_out
is always measured over the whole image. What x_inv − x then shows is what the reconstruction ignores; for an
undersampled MRI acquisition that is (mostly) the null space of A, the k-space the scanner never measured.
"""
from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import Tensor

from ..display import robust_limit
from ..errors import ExperimentError
from ..metrics import mse, ssim
from ..physics.base import Operator
from ..physics.mri import MRIOperator, fft2c
from .common import AnalysisInput
from .view import AnalysisStep, AnalysisView, Curve, Panel

__all__ = ["DISTANCES", "TITLE", "Config", "InvarianceResult", "run"]

TITLE = "Invariance"
NAME = "invariance"
DISTANCES = ("mse", "ssim")
"""Output distances: mean squared error, or (1 − SSIM) / 2."""

_VIEW_EVERY = 10  # steps between the images the GUI repaints (the curves alone are cheap)
_TINY = 1e-20  # keeps the RMS differentiable at x_inv = x (squared working units, far below any real change)


def _setting(default, help_text: str, unit: str = "", **limits):
    """A Config field with the metadata front ends build their forms and --help lines from."""
    return field(default=default, metadata={"help": help_text, **({"unit": unit} if unit else {}), **limits})


@dataclass
class Config:
    """The invariance search's settings (validated on creation)."""

    steps: int = _setting(200, "Adam steps of the search", minimum=1, maximum=100_000)
    learning_rate: float = _setting(1e-2, "Adam's step size: about how far each pixel moves per step",
                                    "working units", minimum=0.0)
    alpha: float = _setting(
        1e-3, "weight α of the input change the search rewards: with the MSE distance, a reconstruction that copied "
        "its input would settle at an RMS input change of α/2; (1 − SSIM)/2 punishes small changes far more, so "
        "with it try α about 0.1", minimum=0.0, decimals=6)
    start_sigma: float = _setting(1e-2, "standard deviation of the Gaussian noise the search starts from, "
                                  "x + N(0, σ²)", "working units", minimum=0.0)
    distance: str = _setting("mse", "how the change of the reconstruction is measured: mean squared error or "
                             "(1 − SSIM) / 2", choices=DISTANCES)
    in_region: bool = _setting(True, "with a region, change the input only inside it (the reconstruction is still "
                               "compared everywhere)")

    def __post_init__(self):
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= 100_000:
            raise ExperimentError(f"invariance steps must be a whole number from 1 to 100000, not {self.steps!r}")
        for name in ("learning_rate", "start_sigma"):
            value = getattr(self, name)
            if not _finite_number(value) or value <= 0:
                raise ExperimentError(f"invariance {name} must be a positive number, not {value!r}")
        if not _finite_number(self.alpha) or self.alpha < 0:
            raise ExperimentError(f"invariance alpha must be a number ≥ 0, not {self.alpha!r}")
        if self.distance not in DISTANCES:
            raise ExperimentError(f"invariance distance must be one of {', '.join(DISTANCES)}, not {self.distance!r}")
        if not isinstance(self.in_region, bool):
            raise ExperimentError(f"invariance in_region must be true or false, not {self.in_region!r}")


def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class InvarianceResult:
    """What the search found; images are float (B, H, W) numpy arrays in working units.

    Attributes
    ----------
    x, x_inv : the object and the invariance found.
    recon_x, recon_inv : f(x) and f(x_inv).
    iterations : 0 (the start) … steps.
    input_rms, output_rms : RMS of x_inv − x and of f(x_inv) − f(x) over the whole image at each iteration,
        working units (mean over the batch).
    output_ssim : SSIM of f(x_inv) against f(x) at each iteration (mean over the batch).
    null_space_share : ‖(I − P) Δ‖² / ‖Δ‖² of Δ = x_inv − x, P the projection onto what A measures; None where
        it is not computed exactly here (anything but single-coil MRI).
    confined : whether x_inv − x was confined to the region.
    """

    config: Config
    label: str
    x: np.ndarray
    x_inv: np.ndarray
    recon_x: np.ndarray
    recon_inv: np.ndarray
    iterations: list[int]
    input_rms: list[float]
    output_rms: list[float]
    output_ssim: list[float]
    null_space_share: float | None
    confined: bool

    @property
    def ratio(self) -> float | None:
        """Input RMS change over output RMS change at the end; None when the output did not change at all."""
        return self.input_rms[-1] / self.output_rms[-1] if self.output_rms[-1] > 0 else None

    def summary(self) -> dict:
        """JSON-ready record: the settings, the reconstruction, the final numbers and the curves."""
        return {"analysis": NAME, "config": asdict(self.config), "label": self.label,
                "input_distance": "RMS of x_inv − x over the whole image (working units)",
                "output_distance": {"mse": "mean squared error", "ssim": "(1 − SSIM) / 2"}[self.config.distance],
                "range": "x_inv kept within [min x, max x] of each image", "confined_to_region": self.confined,
                "input_rms_change": self.input_rms[-1], "output_rms_change": self.output_rms[-1],
                "ratio": self.ratio, "output_ssim": self.output_ssim[-1], "null_space_share": self.null_space_share,
                "curves": {"iteration": list(self.iterations), "input_rms": list(self.input_rms),
                           "output_rms": list(self.output_rms), "output_ssim": list(self.output_ssim)}}

    def rows(self) -> list[dict]:
        """One flat row for the study table (NaN where a number is unknown)."""
        nan = float("nan")
        return [{"analysis": NAME, "label": self.label, "distance": self.config.distance,
                 "alpha": self.config.alpha, "steps": self.config.steps,
                 "input_rms_change": self.input_rms[-1], "output_rms_change": self.output_rms[-1],
                 "ratio": nan if self.ratio is None else self.ratio, "output_ssim": self.output_ssim[-1],
                 "null_space_share": nan if self.null_space_share is None else self.null_space_share}]

    def headline(self) -> str:
        ratio = "" if self.ratio is None else f" ({self.ratio:.0f}× less)"
        return (f"input changed {self.input_rms[-1]:.3g} RMS, reconstruction {self.output_rms[-1]:.3g} RMS{ratio}, "
                f"SSIM {self.output_ssim[-1]:.3f}")

    def view(self) -> AnalysisView:
        """x_inv, what the reconstruction ignores, how its output moved, f(x_inv); the distances; the findings."""
        delta, change = self.x_inv[0] - self.x[0], self.recon_inv[0] - self.recon_x[0]
        scale = robust_limit(delta)  # both changes on the input's scale: the eye sees how much less moved
        panels = [Panel("x_inv", self.x_inv[0]),
                  Panel("x_inv − x", delta, "signed", "what the reconstruction ignores", (-scale, scale)),
                  Panel("f(x_inv) − f(x)", change, "signed", "how little the reconstruction moved (same scale)",
                        (-scale, scale)),
                  Panel("f(x_inv)", self.recon_inv[0])]
        x_axis = [float(i) for i in self.iterations]
        curves = [Curve("Distances", "iteration", "RMS change (working units)", x_axis,
                        {"input x_inv − x": list(self.input_rms), "output f(x_inv) − f(x)": list(self.output_rms)}),
                  Curve("Reconstruction SSIM", "iteration", "SSIM of f(x_inv) vs f(x)", x_axis,
                        {"SSIM": list(self.output_ssim)})]
        return AnalysisView(panels, curves, self._facts())

    def _facts(self) -> list[str]:
        ratio = "" if self.ratio is None else f" — {self.ratio:.0f}× less"
        facts = [f"the input changed by {self.input_rms[-1]:.3g} (RMS) while the reconstruction changed by "
                 f"{self.output_rms[-1]:.3g}{ratio}",
                 f"the reconstruction of x_inv has SSIM {self.output_ssim[-1]:.4f} against that of x"]
        if self.null_space_share is not None:
            facts.append(f"{100 * self.null_space_share:.2f} % of the input change lies in the null space of the "
                         "acquisition (k-space that was never measured)")
        where = "inside the region only" if self.confined else "anywhere in the image"
        facts.append(f"searched {self.iterations[-1]} Adam steps {where}, output distance "
                     f"{self.config.distance.upper()}, α = {self.config.alpha:g}")
        return facts


def run(inputs: AnalysisInput, config: Config) -> Generator[AnalysisStep, None, InvarianceResult]:
    """Search for an invariance of the reconstruction, yielding every step (with images every 10).

    Parameters
    ----------
    inputs : AnalysisInput
        The slice: its object x (B, H, W), acquisition, reconstruction and optional region.
    config : Config
        The search's settings.

    Returns
    -------
    InvarianceResult
        The generator's return value (``StopIteration.value``).
    """
    x = inputs.require_object(TITLE).detach()
    support = _support(inputs, config, x)
    low, high = _bounds(x)
    with torch.no_grad():
        recon_x = inputs.recon(inputs.acquire(x)).detach()
    delta = _start(x, support, config.start_sigma, inputs.seed, low, high)
    optimizer = torch.optim.Adam([delta], lr=config.learning_rate)
    history: dict[str, list] = {"iterations": [], "input_rms": [], "output_rms": [], "output_ssim": []}
    for step in range(config.steps + 1):
        objective, recon_inv = _objective(inputs, config, x, delta, recon_x, history, step)
        if step > 0:  # the state after ``step`` updates, its images consistent with its numbers
            show = step % _VIEW_EVERY == 0 or step == config.steps
            view = _result(inputs, config, x, delta, recon_x, recon_inv, history, support).view() if show else None
            message = (f"step {step}/{config.steps}: input changed {history['input_rms'][-1]:.3g} RMS, "
                       f"reconstruction {history['output_rms'][-1]:.3g} RMS")
            yield AnalysisStep(step, config.steps, message, view)
        if step == config.steps:
            break
        delta.grad, = torch.autograd.grad(objective, delta)
        optimizer.step()
        _project(delta, x, support, low, high)
    return _result(inputs, config, x, delta, recon_x, recon_inv, history, support)


def _objective(inputs: AnalysisInput, config: Config, x: Tensor, delta: Tensor, recon_x: Tensor,
               history: dict[str, list], step: int) -> tuple[Tensor, Tensor]:
    """d_out − α d_in summed over the batch (a scalar), and f(x_inv); records the distances at ``step``."""
    x_inv = x + delta
    recon_inv = inputs.recon(inputs.acquire(x_inv))
    input_rms = torch.sqrt(mse(x_inv, x) + _TINY)
    if config.distance == "mse":
        output_distance = mse(recon_inv, recon_x)
    else:
        output_distance = (1 - ssim(recon_inv, recon_x, data_range=inputs.data_range)) / 2
    objective = torch.sum(output_distance - config.alpha * input_rms)
    with torch.no_grad():
        history["iterations"].append(step)
        history["input_rms"].append(float(torch.sqrt(mse(x_inv, x)).mean()))
        history["output_rms"].append(float(torch.sqrt(mse(recon_inv, recon_x)).mean()))
        history["output_ssim"].append(float(ssim(recon_inv, recon_x, data_range=inputs.data_range).mean()))
    return objective, recon_inv.detach()


def _support(inputs: AnalysisInput, config: Config, x: Tensor) -> Tensor | None:
    """Where x_inv may differ from x: the region (H, W) as 0/1 in x's dtype, or None for everywhere."""
    if inputs.region is None or not config.in_region:
        return None
    return inputs.region.to(device=x.device, dtype=x.dtype)


def _bounds(x: Tensor) -> tuple[Tensor, Tensor]:
    """Each image's own intensity range [min x, max x], as (B, 1, 1) tensors."""
    flat = x.flatten(1)
    return flat.amin(dim=1)[:, None, None], flat.amax(dim=1)[:, None, None]


def _start(x: Tensor, support: Tensor | None, sigma: float, seed: int, low: Tensor, high: Tensor) -> Tensor:
    """The first Δ = x_inv − x: Gaussian noise (drawn on the CPU, so every device gets the same), projected."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    noise = sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype)
    delta = noise.to(x.device).requires_grad_(True)
    _project(delta, x, support, low, high)
    return delta


@torch.no_grad()
def _project(delta: Tensor, x: Tensor, support: Tensor | None, low: Tensor, high: Tensor) -> None:
    """In place: x + Δ into [low, high], then Δ = 0 outside the support (x itself is inside the range)."""
    delta.copy_(torch.minimum(torch.maximum(x + delta, low), high) - x)
    if support is not None:
        delta.mul_(support)


def _result(inputs: AnalysisInput, config: Config, x: Tensor, delta: Tensor, recon_x: Tensor, recon_inv: Tensor,
            history: dict[str, list], support: Tensor | None) -> InvarianceResult:
    """The result as it stands; ``recon_inv`` must be f(x + delta) (the images are taken as they are)."""
    def numpy(t: Tensor) -> np.ndarray:
        return t.detach().cpu().numpy().copy()

    return InvarianceResult(config=config, label=inputs.label, x=numpy(x), x_inv=numpy(x + delta),
                            recon_x=numpy(recon_x), recon_inv=numpy(recon_inv),
                            iterations=list(history["iterations"]), input_rms=list(history["input_rms"]),
                            output_rms=list(history["output_rms"]), output_ssim=list(history["output_ssim"]),
                            null_space_share=_null_space_share(inputs.op, delta.detach()),
                            confined=support is not None)


def _null_space_share(op: Operator, delta: Tensor) -> float | None:
    """‖(I − P) Δ‖² / ‖Δ‖² for single-coil MRI, P Δ = F⁻¹ M F Δ (orthonormal F: Parseval in k-space); None for
    other operators (multi-coil needs the normal equations: the null-space analysis's business) or Δ = 0."""
    if not isinstance(op, MRIOperator) or op.coil_maps is not None:
        return None
    energy = torch.abs(fft2c(delta.to(torch.complex128))) ** 2
    total = float(energy.sum())
    if total == 0:
        return None
    sampled = op.mask.reshape(-1).to(energy.device)
    return float(energy[..., ~sampled].sum()) / total
