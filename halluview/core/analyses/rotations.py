"""Adversarial rotation (Morshuis et al. 2022): the small in-plane turn of the object that most damages the
reconstruction.

The object x is turned by θ (:func:`~.rotation_grid.rotate`, differentiable in θ; Fourier interpolation by
default, because a bilinear turn blurs the object and so flatters every angle but 0), acquired with the clean
measurement's own noise, y_θ = A R_θ x + n, and reconstructed, f(y_θ). Coil sensitivities stay where they are:
the head turns inside a fixed coil array. Damage is judged against the rotated ground truth R_θ x, in the region
turned with the object (or the whole image), so the motion itself is not counted: a rotation-equivariant
reconstruction scores no damage at any angle. The search scans a grid over ±max, then climbs the region MSE by
sign-gradient steps on θ from the grid's worst angle, keeping the worst angle seen.
"""
from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import Tensor

from ..errors import ExperimentError
from ..metrics import mse, psnr, ssim
from .common import AnalysisInput
from .rotation_grid import INTERPOLATIONS, angle_grid, rotate, rotated_region
from .view import AnalysisStep, AnalysisView, Curve, Panel

__all__ = ["TITLE", "Config", "RotationResult", "angle_records", "rotate", "rotated_region", "run"]

TITLE = "Adversarial rotation"
NAME = "rotation"
_SSIM_BORDER = 3  # the uniform 7×7 SSIM window's crop: a scored region must keep a pixel inside it
COMPARISONS = ("truth", "clean", "moved_clean")
"""What f(y_θ) is compared with: R_θ x (the rotated truth), f(y) (motion included), R_θ f(y) (motion removed)."""


def _number(value, name: str, low: float, high: float, integer: bool = False) -> None:
    """One-line ExperimentError unless low ≤ value ≤ high (and a whole number when ``integer``)."""
    kind_ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not kind_ok or not math.isfinite(value) or not low <= value <= high:
        what = "a whole number" if integer else "a number"
        raise ExperimentError(f"rotation {name} must be {what} from {low:g} to {high:g}, not {value!r}")


@dataclass
class Config:
    """Settings of the rotation search."""

    max_angle_deg: float = field(default=5.0, metadata={
        "help": "the largest turn of the object tried, either way", "unit": "°", "minimum": 0.01, "maximum": 30.0})
    grid_step_deg: float = field(default=0.1, metadata={
        "help": "spacing of the angles scanned before the gradient refinement", "unit": "°", "minimum": 0.01,
        "maximum": 5.0})
    refine_steps: int = field(default=20, metadata={
        "help": "gradient steps on the angle from the grid's worst angle (0: the grid alone)", "minimum": 0,
        "maximum": 500})
    batch: int = field(default=16, metadata={
        "help": "angles reconstructed at once (lower it when memory is short)", "minimum": 1, "maximum": 256})
    interpolation: str = field(default="fourier", metadata={
        "help": "how the object is turned: fourier keeps its fine detail; bilinear (grid_sample) blurs it, which "
                "makes every turn look less damaging than none", "choices": INTERPOLATIONS})

    def __post_init__(self):
        _number(self.max_angle_deg, "max_angle_deg", 0.01, 30.0)
        _number(self.grid_step_deg, "grid_step_deg", 0.01, 5.0)
        _number(self.refine_steps, "refine_steps", 0, 500, integer=True)
        _number(self.batch, "batch", 1, 256, integer=True)
        if self.interpolation not in INTERPOLATIONS:
            raise ExperimentError(f"rotation interpolation must be one of {', '.join(INTERPOLATIONS)}, "
                                  f"not {self.interpolation!r}")


@dataclass
class _Scene:
    """What every angle is scored against: the object (1, H, W), f(y) (1, H, W), the PSNR / SSIM range and the
    interpolation."""

    inputs: AnalysisInput
    x: Tensor
    data_range: float
    interpolation: str

    def turn(self, image: Tensor, angles: Tensor) -> Tensor:
        """R_θ image for (N,) angles; a non-negative image (a magnitude) stays non-negative: the sinc
        interpolation's ringing below 0 is cut, so that a magnitude reconstruction can equal it."""
        turned = rotate(image, angles, self.interpolation)
        return turned.clamp_min(0) if bool((image >= 0).all()) else turned


def _scene(inputs: AnalysisInput, config: Config) -> _Scene:
    x = inputs.require_object("the rotation analysis")
    # one range for every angle (the rotated truth's own maximum wobbles with the interpolation), so PSNR and SSIM
    # are comparable along the curve
    data_range = inputs.data_range if inputs.data_range is not None else float(x.abs().max())
    return _Scene(inputs, x, data_range, config.interpolation)


def _turned(scene: _Scene, angles: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
    """R_θ x, f(A R_θ x + n) and the turned region for (N,) angles: (N, H, W) each (the region may be None)."""
    truth = scene.turn(scene.x, angles)
    recon = scene.inputs.recon(scene.inputs.acquire(truth))
    mask = rotated_region(scene.inputs.region, angles)
    if mask is not None:
        inner = mask[:, _SSIM_BORDER:-_SSIM_BORDER, _SSIM_BORDER:-_SSIM_BORDER].flatten(1).any(dim=1)
        if not bool(inner.all()):
            angle = float(angles[int(torch.nonzero(~inner)[0])])
            raise ExperimentError(f"the region leaves the image when the object turns by {angle:+.2f}°: draw it "
                                  "nearer the centre or lower max_angle_deg")
    return truth, recon, mask


def _scores(recon: Tensor, ref: Tensor, mask: Tensor | None, data_range: float) -> dict[str, Tensor]:
    """MSE, PSNR (dB) and SSIM of (N, H, W) images in the (N, H, W) mask (None: whole image), each (N,)."""
    return {"mse": mse(recon, ref, mask), "psnr": psnr(recon, ref, data_range, mask),
            "ssim": ssim(recon, ref, data_range, mask)}


def _records(scene: _Scene, angles_deg: Sequence[float]) -> tuple[list[dict[str, float]], dict[str, Tensor]]:
    """Every comparison at each angle (one dict per angle) and the images at the first angle (H, W)."""
    clean = scene.inputs.clean
    angles = torch.tensor(list(angles_deg), dtype=scene.x.dtype, device=scene.x.device)
    with torch.no_grad():
        truth, recon, mask = _turned(scene, angles)
        moved_clean = scene.turn(clean, angles)
        refs = {"truth": truth, "clean": clean.expand_as(recon), "moved_clean": moved_clean}
        columns = {f"{metric}_vs_{name}": values for name in COMPARISONS
                   for metric, values in _scores(recon, refs[name], mask, scene.data_range).items()}
    records = [{"angle_deg": float(angle), **{key: float(values[i]) for key, values in columns.items()}}
               for i, angle in enumerate(angles_deg)]
    images = {"truth": truth[0], "recon": recon[0], "beyond_motion": recon[0] - moved_clean[0],
              "error": recon[0] - truth[0]}
    return records, images


def angle_records(inputs: AnalysisInput, angles_deg: Sequence[float],
                  config: Config | None = None) -> list[dict[str, float]]:
    """MSE, PSNR (dB) and SSIM of f(y_θ) against R_θ x, f(y) and R_θ f(y), in the turned region, at each angle.

    Parameters
    ----------
    inputs : AnalysisInput
        The slice, its acquisition and reconstruction (needs the imaged object).
    angles_deg : sequence of float
        Angles in degrees, counter-clockwise as displayed; reconstructed together (keep it short).
    config : Config, optional
        Its ``interpolation`` turns the object (default: :class:`Config`'s).

    Returns
    -------
    list of dict
        Per angle: "angle_deg" and "<mse|psnr|ssim>_vs_<truth|clean|moved_clean>" (MSE in squared image units).
    """
    return _records(_scene(inputs, config or Config()), angles_deg)[0]


def _damage(scene: _Scene, angles: Tensor) -> dict[str, Tensor]:
    """What is maximised, with PSNR and SSIM for the curve: f(y_θ) against R_θ x at (N,) angles, each (N,)."""
    truth, recon, mask = _turned(scene, angles)
    return _scores(recon, truth, mask, scene.data_range)


@dataclass
class _Search:
    """The curve so far, and the refinement's trail (angles in degrees, MSE in squared image units)."""

    angles: list[float] = field(default_factory=list)
    mse: list[float] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    refine_angles: list[float] = field(default_factory=list)
    refine_mse: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def worst(self) -> tuple[float, float, str]:
        """The worst angle seen, its MSE, and whether the grid or the refinement found it."""
        grid_index = int(np.argmax(self.mse))
        angle, value, found_by = self.angles[grid_index], self.mse[grid_index], "grid"
        # [0] is the grid's worst again; a batch of one may differ from the grid's batch in the last digits, which
        # must not count as a find
        for refined, refined_value in zip(self.refine_angles[1:], self.refine_mse[1:]):
            if refined_value > value * (1 + 1e-6) and refined != angle:
                angle, value, found_by = refined, refined_value, "refinement"
        return angle, value, found_by

    def curves(self, mark: float | None) -> list[Curve]:
        return [Curve("Damage against the rotated truth", "rotation (°)", "PSNR (dB)", list(self.angles),
                      {"PSNR f(y_θ) vs R_θ x": list(self.psnr)}, mark),
                Curve("Structure against the rotated truth", "rotation (°)", "SSIM", list(self.angles),
                      {"SSIM f(y_θ) vs R_θ x": list(self.ssim)}, mark)]

    def partial_view(self) -> AnalysisView:
        angle, value, found_by = self.worst()
        return AnalysisView(curves=self.curves(angle),
                            facts=[f"worst so far {angle:+.2f}° ({found_by}): MSE {value:.3g} vs the rotated truth"])


def _grid(scene: _Scene, config: Config, search: _Search, total: int) -> Generator[AnalysisStep, None, None]:
    """Scan the grid of angles in batches, yielding the growing curve after each batch."""
    angles = angle_grid(config.max_angle_deg, config.grid_step_deg)
    for step, start in enumerate(range(0, len(angles), config.batch), start=1):
        chunk = angles[start:start + config.batch]
        with torch.no_grad():
            scores = _damage(scene, torch.tensor(chunk, dtype=scene.x.dtype, device=scene.x.device))
        search.angles += [float(a) for a in chunk]
        for key in ("mse", "psnr", "ssim"):
            getattr(search, key).extend(float(v) for v in scores[key])
        yield AnalysisStep(step, total, f"angles {chunk[0]:+.2f}° to {chunk[-1]:+.2f}° of ±{config.max_angle_deg:g}°",
                           search.partial_view())


def _value_and_slope(scene: _Scene, angle_deg: float) -> tuple[float, float | None]:
    """Region MSE against the rotated truth at one angle and its derivative in the angle (per degree; None when
    the reconstruction gives no finite gradient)."""
    angle = torch.tensor([angle_deg], dtype=scene.x.dtype, device=scene.x.device, requires_grad=True)
    with torch.enable_grad():
        value = _damage(scene, angle)["mse"][0]
        if not value.requires_grad:
            return float(value), None
        (slope,) = torch.autograd.grad(value, angle)
    slope_value = float(slope[0])
    return float(value.detach()), slope_value if math.isfinite(slope_value) else None


def _refine(scene: _Scene, config: Config, search: _Search, first_step: int,
            total: int) -> Generator[AnalysisStep, None, None]:
    """Sign-gradient ascent on the angle from the grid's worst: steps of half a grid step, halved whenever the
    slope changes sign (a bisection of the local maximum; scale-free, unlike a learning rate), clamped to ±max."""
    angle, size, previous = search.worst()[0], config.grid_step_deg / 2, 0
    for step in range(config.refine_steps + 1):
        value, slope = _value_and_slope(scene, angle)
        search.refine_angles.append(angle)
        search.refine_mse.append(value)
        if step == config.refine_steps:
            break
        yield AnalysisStep(first_step + step, total, f"refining: {angle:+.3f}°, MSE {value:.3g}", search.partial_view())
        if slope is None:
            search.notes.append("the refinement stopped: the reconstruction gives no finite gradient in the angle")
            break
        if slope == 0:
            break  # flat (e.g. no damage at all): nothing to climb
        direction = 1 if slope > 0 else -1
        if previous and direction != previous:
            size /= 2
        previous = direction
        moved = float(np.clip(angle + direction * size, -config.max_angle_deg, config.max_angle_deg))
        if moved == angle:
            break  # climbing out of the interval: the worst angle is its end
        angle = moved


@dataclass
class RotationResult:
    """The worst rotation found, the damage there and at 0°, and the curve of damage against angle.

    Attributes
    ----------
    curve_angles_deg, curve_mse, curve_psnr_db, curve_ssim : the grid: f(y_θ) against R_θ x in the scored area.
    refine_angles_deg, refine_mse : the refinement's trail (its first entry is the grid's worst angle).
    worst_angle_deg : the angle with the largest MSE seen; found_by : "grid" or "refinement".
    at_worst, at_zero : :func:`angle_records` at the worst angle and at 0°.
    images : (H, W) arrays at the worst angle: "truth" R_θ x, "recon" f(y_θ), "beyond_motion" f(y_θ) − R_θ f(y),
        "error" f(y_θ) − R_θ x.
    """

    config: Config
    label: str
    scored: str
    curve_angles_deg: list[float]
    curve_mse: list[float]
    curve_psnr_db: list[float]
    curve_ssim: list[float]
    refine_angles_deg: list[float]
    refine_mse: list[float]
    worst_angle_deg: float
    found_by: str
    at_worst: dict[str, float]
    at_zero: dict[str, float]
    images: dict[str, np.ndarray]
    notes: list[str]

    def damage(self) -> dict[str, float]:
        """Against the rotated truth: MSE at the worst angle minus at 0°, their ratio, and the PSNR / SSIM drops."""
        worst, zero = self.at_worst, self.at_zero
        ratio = worst["mse_vs_truth"] / zero["mse_vs_truth"] if zero["mse_vs_truth"] > 0 else math.inf
        return {"mse": worst["mse_vs_truth"] - zero["mse_vs_truth"], "mse_ratio": ratio,
                "psnr_drop_db": zero["psnr_vs_truth"] - worst["psnr_vs_truth"],
                "ssim_drop": zero["ssim_vs_truth"] - worst["ssim_vs_truth"]}

    def summary(self) -> dict:
        return {"analysis": NAME, "config": asdict(self.config), "reconstruction": self.label, "scored": self.scored,
                "worst_angle_deg": self.worst_angle_deg, "found_by": self.found_by, "at_worst": dict(self.at_worst),
                "at_zero": dict(self.at_zero), "damage": self.damage(),
                "curve": {"angle_deg": list(self.curve_angles_deg), "mse": list(self.curve_mse),
                          "psnr_db": list(self.curve_psnr_db), "ssim": list(self.curve_ssim)},
                "refinement": {"angle_deg": list(self.refine_angles_deg), "mse": list(self.refine_mse)},
                "notes": list(self.notes)}

    def rows(self) -> list[dict]:
        row = {"analysis": NAME, "reconstruction": self.label, "scored": self.scored,
               "worst_angle_deg": self.worst_angle_deg, "found_by": self.found_by}
        for suffix, record in (("worst", self.at_worst), ("zero", self.at_zero)):
            row.update({f"{key}_{suffix}": value for key, value in record.items() if key != "angle_deg"})
        row.update({f"damage_{key}": value for key, value in self.damage().items()})
        return [row]

    def headline(self) -> str:
        worst, zero = self.at_worst, self.at_zero
        return (f"worst angle {self.worst_angle_deg:+.1f}°: {self._scope()} SSIM {zero['ssim_vs_truth']:.2f} → "
                f"{worst['ssim_vs_truth']:.2f}, PSNR {zero['psnr_vs_truth']:.1f} → {worst['psnr_vs_truth']:.1f} dB "
                "against the rotated truth")

    def _scope(self) -> str:
        return "region" if self.scored == "region" else "image"

    def view(self) -> AnalysisView:
        angle, worst, zero = self.worst_angle_deg, self.at_worst, self.at_zero
        panels = [Panel(f"Rotated truth R_θ x at {angle:+.2f}°", self.images["truth"]),
                  Panel(f"Reconstruction f(y_θ) at {angle:+.2f}°", self.images["recon"]),
                  Panel("Change beyond motion f(y_θ) − R_θ f(y)", self.images["beyond_motion"], "signed",
                        "what the turn changed in the reconstruction besides moving it"),
                  Panel("Error f(y_θ) − R_θ x", self.images["error"], "signed")]
        search = _Search(self.curve_angles_deg, self.curve_mse, self.curve_psnr_db, self.curve_ssim)
        scope = self._scope()
        facts = [f"Worst angle {angle:+.2f}° within ±{self.config.max_angle_deg:g}° (found by the {self.found_by}), "
                 f"scored on the {'region turned with the object' if scope == 'region' else 'whole image'}.",
                 f"Against the rotated truth: {scope} MSE {zero['mse_vs_truth']:.3g} at 0° → "
                 f"{worst['mse_vs_truth']:.3g} ({self.damage()['mse_ratio']:.3g}×), "
                 f"PSNR {zero['psnr_vs_truth']:.2f} → {worst['psnr_vs_truth']:.2f} dB, "
                 f"SSIM {zero['ssim_vs_truth']:.3f} → {worst['ssim_vs_truth']:.3f}.",
                 f"Beyond the motion (against the moved clean reconstruction R_θ f(y)): PSNR "
                 f"{worst['psnr_vs_moved_clean']:.2f} dB, SSIM {worst['ssim_vs_moved_clean']:.3f}.",
                 f"Motion included (against the unrotated f(y)): PSNR {worst['psnr_vs_clean']:.2f} dB, SSIM "
                 f"{worst['ssim_vs_clean']:.3f}.", *self.notes]
        return AnalysisView(panels=panels, curves=search.curves(angle), facts=facts)


def run(inputs: AnalysisInput, config: Config) -> Generator[AnalysisStep, None, RotationResult]:
    """Search ±``config.max_angle_deg`` for the rotation of the object that most damages the reconstruction.

    Yields an :class:`AnalysisStep` after every batch of grid angles and every refinement step (with the curve so
    far), and returns a :class:`RotationResult`. Deterministic: no random draw is made (the measurement noise is
    the clean measurement's own, ``inputs.noise``).
    """
    scene = _scene(inputs, config)
    search = _Search()
    n_batches = -(-len(angle_grid(config.max_angle_deg, config.grid_step_deg)) // config.batch)
    total = n_batches + config.refine_steps + 1
    yield from _grid(scene, config, search, total)
    if config.refine_steps:
        yield from _refine(scene, config, search, n_batches + 1, total)
    worst_angle, _, found_by = search.worst()
    (at_worst, at_zero), images = _records(scene, [worst_angle, 0.0])
    result = RotationResult(config, inputs.label, "whole image" if inputs.region is None else "region",
                            search.angles, search.mse, search.psnr, search.ssim, search.refine_angles,
                            search.refine_mse, worst_angle, found_by, at_worst, at_zero,
                            {key: image.detach().cpu().numpy() for key, image in images.items()}, search.notes)
    yield AnalysisStep(total, total, result.headline(), result.view())
    return result
