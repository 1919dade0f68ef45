"""Null-space hallucination maps (Bhadra et al. 2021, IEEE TMI; Gottschling et al., "The troublesome kernel").

The error of a reconstruction, e = f(y) − x, splits into its measured part P e (P = A⁺A, :mod:`.projection`) and
its null-space part (I − P) e. The measured part disagrees with the data; the null-space part is what the
reconstruction invented that the data can neither confirm nor deny. Its map, smoothed, thresholded at a percentile
and cleared of small regions, is the hallucination map.

Without the imaged object (a file's own k-space), or when asked, the same split is made of what the experiment's
own attack changed, f(y + δ) − f(y), and every report says so.
"""
from __future__ import annotations

from collections.abc import Generator
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from torch import Tensor

from .. import metrics
from ..errors import ExperimentError
from ..physics.base import Operator
from ..physics.mri import MRIOperator, center_crop
from .common import AnalysisInput
from .projection import ProjectionInfo, is_partial_isometry, projection_steps
from .view import AnalysisStep, AnalysisView, Curve, Panel

TITLE = "Null-space map"
NAME = "nullspace"
MODES = ("error", "attack_change")
NO_GROUND_TRUTH = "no ground truth: this shows what an attack changed, f(y + δ) − f(y), not the error"
RESIDUAL_WORDS = "relative residual ‖A*A z − A*A e‖ / ‖A*A e‖"
CG_REPORT_EVERY = 10  # CG iterations between progress steps


def _setting(help: str, **limits) -> dict:
    return {"help": help, **limits}


@dataclass
class Config:
    """The null-space map's settings (validated on construction)."""

    of: str = field(default="error", metadata=_setting(
        "what to split: the reconstruction's error f(y) − x, or what the experiment's attack changed, "
        "f(y + δ) − f(y) (used anyway when there is no ground truth)", choices=MODES))
    smoothing_sigma_px: float = field(default=1.0, metadata=_setting(
        "Gaussian smoothing of |null-space part| before thresholding", unit="px", minimum=0.0, maximum=20.0))
    percentile: float = field(default=99.0, metadata=_setting(
        "threshold: this percentile of the smoothed map within the region (or the object)", unit="%",
        minimum=0.0, maximum=100.0))
    min_region_px: int = field(default=8, metadata=_setting(
        "connected regions (8-connected) smaller than this are dropped from the hallucination map", unit="px",
        minimum=1))
    object_level: float = field(default=0.05, metadata=_setting(
        "without a region, the object is where the ground truth (else f(y)) exceeds this fraction of its maximum; "
        "0: the whole image", minimum=0.0, maximum=1.0))
    cg_iterations: int = field(default=200, metadata=_setting(
        "most conjugate-gradient iterations for the projection (multi-coil MRI, CT)", minimum=1, maximum=100_000))
    cg_tolerance: float = field(default=1e-6, metadata=_setting(
        "conjugate gradients stop at this relative normal-equation residual", minimum=0.0, maximum=1.0))
    attack_steps: int = field(default=0, metadata=_setting(
        "steps of the attack when splitting its change; 0: the experiment's own", minimum=0))

    def __post_init__(self):
        counts = (self.min_region_px, self.cg_iterations, self.attack_steps)
        if not all(isinstance(count, (int, np.integer)) and not isinstance(count, bool) for count in counts):
            raise ExperimentError("null-space map: min_region_px, cg_iterations and attack_steps must be whole "
                                  "numbers")
        checks = [
            (self.of in MODES, f"'of' must be one of {', '.join(MODES)}, not {self.of!r}"),
            (0.0 <= self.smoothing_sigma_px <= 20.0, "smoothing_sigma_px must lie in [0, 20] px"),
            (0.0 < self.percentile < 100.0, "percentile must lie strictly between 0 and 100"),
            (self.min_region_px >= 1, "min_region_px must be at least 1"),
            (0.0 <= self.object_level < 1.0, "object_level must lie in [0, 1)"),
            (1 <= self.cg_iterations <= 100_000, "cg_iterations must lie in 1..100000"),
            (0.0 < self.cg_tolerance < 1.0, "cg_tolerance must lie strictly between 0 and 1"),
            (self.attack_steps >= 0, "attack_steps must be 0 (the experiment's own) or more"),
        ]
        for ok, message in checks:
            if not ok:
                raise ExperimentError(f"null-space map: {message}")


@dataclass
class Decomposition:
    """e = P e + (I − P) e for one image, on the CPU.

    Attributes
    ----------
    measured, null : (H, W) complex128 (MRI) or float64 arrays, in e's units: P e and e − P e.
    info : how P e was computed.
    measured_share, null_space_share : ‖P e‖² / ‖e‖² and ‖(I − P) e‖² / ‖e‖² (0 for e = 0).
    """

    measured: np.ndarray
    null: np.ndarray
    info: ProjectionInfo
    measured_share: float
    null_space_share: float

    @property
    def share_sum_error(self) -> float:
        """measured + null-space share − 1: zero when P is an orthogonal projector (CG: up to its residual)."""
        return 0.0 if self.measured_share == self.null_space_share == 0.0 else \
            self.measured_share + self.null_space_share - 1.0


def decompose(op: Operator, e: Tensor, iterations: int = 200, tolerance: float = 1e-6) -> Decomposition:
    """Split the first image of ``e`` (B, H, W) on ``op``'s grid into its measured and null-space parts."""
    steps = decompose_steps(op, e, iterations, tolerance)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def decompose_steps(op: Operator, e: Tensor, iterations: int = 200,
                    tolerance: float = 1e-6) -> Generator[tuple[int, float], None, Decomposition]:
    """:func:`decompose`, yielding (iteration, residual) while conjugate gradients run."""
    e = e[:1]
    measured, info = yield from projection_steps(op, e, "auto", iterations, tolerance)
    null = e.detach().to(measured.dtype) - measured
    total = float(torch.sum(torch.abs(e.detach()).double() ** 2))
    shares = [float(torch.sum(torch.abs(part) ** 2)) / total if total > 0 else 0.0 for part in (measured, null)]
    return Decomposition(measured[0].cpu().numpy(), null[0].cpu().numpy(), info, *shares)


@dataclass
class HallucinationMap:
    """Where the smoothed |null-space part| exceeds its percentile, in regions of at least ``min_region_px``.

    Attributes
    ----------
    mask : (H, W) bool, the hallucination map.
    threshold : the smoothed map's percentile within the pool, in the map's units.
    regions, removed_regions : regions kept, and those dropped as smaller than the minimum (8-connected).
    area_px : pixels in the kept regions.
    pool_px : pixels the percentile was taken over (the region, the object or the image).
    """

    mask: np.ndarray
    threshold: float
    regions: int
    removed_regions: int
    area_px: int
    pool_px: int


def hallucination_map(magnitude: np.ndarray, sigma_px: float, percentile: float, min_region_px: int,
                      pool: np.ndarray | None = None) -> HallucinationMap:
    """Smooth ``magnitude`` (H, W) with a Gaussian of ``sigma_px`` px, keep pixels of ``pool`` (bool (H, W), None:
    all) above its ``percentile`` there, and drop 8-connected regions smaller than ``min_region_px``."""
    from scipy import ndimage

    smoothed = ndimage.gaussian_filter(np.asarray(magnitude, dtype=np.float64), sigma_px) if sigma_px > 0 \
        else np.asarray(magnitude, dtype=np.float64)
    pool = np.ones(smoothed.shape, bool) if pool is None else np.asarray(pool, bool)
    threshold = float(np.percentile(smoothed[pool], percentile))
    # Strictly above: a map that is zero over most of the pool (denoising, a full acquisition) flags nothing.
    labels, count = ndimage.label((smoothed > threshold) & pool, structure=np.ones((3, 3), int))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    kept = np.flatnonzero(sizes >= min_region_px) + 1
    mask = np.isin(labels, kept)
    return HallucinationMap(mask, threshold, int(kept.size), int(count - kept.size), int(mask.sum()),
                            int(pool.sum()))


@dataclass
class NullSpaceResult:
    """What :func:`run` found.

    Attributes
    ----------
    config, label : the settings and the reconstruction's name.
    mode : "error" (e = f(y) − x) or "attack_change" (e = f(y + δ) − f(y)).
    no_ground_truth : the change was split because there is no imaged object.
    image : f(y), (H, W) in working units.
    target : e, (H, W) float64 in working units.
    decomposition, hallucination : the split of e and the map of its null-space part.
    pool : where the percentile was taken: "region", "object" or "image".
    target_rms : the RMS of e in working units (``error_rms`` in the summary, whatever the mode).
    padded_from : the reconstruction's grid when e was zero-padded to the acquisition's, else None.
    attack : the attack's steps, realised ε and seconds (attack_change mode), else empty.
    """

    config: Config
    label: str
    mode: str
    no_ground_truth: bool
    image: np.ndarray
    target: np.ndarray
    decomposition: Decomposition
    hallucination: HallucinationMap
    pool: str
    target_rms: float
    padded_from: tuple[int, int] | None = None
    attack: dict = field(default_factory=dict)

    @property
    def what(self) -> str:
        return "error" if self.mode == "error" else "change"

    def summary(self) -> dict:
        """JSON-ready record: the config, the label, the mode, both shares (and how far their sum is from 1), the
        RMS of e, how P was computed (method, CG iterations, residual and its history), the hallucination map's
        regions, area and threshold, the pool, and the facts in words."""
        split, found, info = self.decomposition, self.hallucination, self.decomposition.info
        return {"analysis": NAME, "config": asdict(self.config), "label": self.label, "mode": self.mode,
                "no_ground_truth": self.no_ground_truth, "null_space_share": split.null_space_share,
                "measured_share": split.measured_share, "share_sum_error": split.share_sum_error,
                "error_rms": self.target_rms, "method": info.method, "cg_iterations": info.iterations,
                "cg_residual": info.residual, "cg_converged": info.converged,
                "cg_residual_history": list(info.residual_history) if info.method == "cg" else [],
                "regions": found.regions, "removed_regions": found.removed_regions,
                "hallucination_area_px": found.area_px, "hallucination_area_percent": self._area_percent(),
                "threshold": found.threshold, "pool": self.pool, "pool_px": found.pool_px,
                "padded_from": list(self.padded_from) if self.padded_from else None, "attack": dict(self.attack),
                "facts": self._facts()}

    def rows(self) -> list[dict]:
        """One flat row for the study table (str / int / float values)."""
        summary = self.summary()
        keys = ("label", "mode", "null_space_share", "measured_share", "error_rms", "method", "cg_iterations",
                "cg_residual", "regions", "hallucination_area_px", "hallucination_area_percent")
        return [{"analysis": NAME, **{key: summary[key] for key in keys}}]

    def headline(self) -> str:
        found = self.hallucination
        return (f"{100 * self.decomposition.null_space_share:.0f} % of the {self.what} lies in the null space; "
                f"{found.regions} hallucination region{'s' * (found.regions != 1)} ({found.area_px} px)")

    def view(self) -> AnalysisView:
        split, found = self.decomposition, self.hallucination
        what = "Error f(y) − x" if self.mode == "error" else "Change f(y + δ) − f(y)"
        magnitude = "magnitude |·|: the parts are complex" if np.iscomplexobj(split.measured) else "magnitude |·|"
        panels = [Panel("Reconstruction f(y)", self.image, "grey"),
                  Panel(what, self.target, "signed", f"{self.label}, in image units"),
                  Panel("Measured part |P e|", np.abs(split.measured), "map", magnitude),
                  Panel("Null-space part |(I − P) e|", np.abs(split.null), "map", magnitude),
                  Panel("Hallucination map", found.mask.astype(np.float32), "map", self._map_settings())]
        curves = []
        if split.info.method == "cg":
            history = split.info.residual_history
            curves.append(Curve("Conjugate gradients for P = A⁺A", "iteration",
                                RESIDUAL_WORDS, [float(i) for i in range(len(history))],
                                {"residual": list(history)}, mark=float(split.info.iterations)))
        return AnalysisView(panels=panels, curves=curves, facts=self._facts())

    def _area_percent(self) -> float:
        return 100.0 * self.hallucination.area_px / max(self.hallucination.pool_px, 1)

    def _map_settings(self) -> str:
        config = self.config
        return (f"|(I − P) e| smoothed σ = {config.smoothing_sigma_px:g} px, above its {config.percentile:g}th "
                f"percentile within the {self.pool}, regions of at least {config.min_region_px} px")

    def _facts(self) -> list[str]:
        split, found, info = self.decomposition, self.hallucination, self.decomposition.info
        facts = [NO_GROUND_TRUTH] if self.no_ground_truth else []
        if self.mode != "error" and not self.no_ground_truth:
            facts.append("asked for: this shows what an attack changed, f(y + δ) − f(y), not the error")
        facts += [f"{100 * split.null_space_share:.1f} % of the {self.what} lies in the null space: the data cannot "
                  f"confirm or deny it",
                  f"{100 * split.measured_share:.1f} % lies in the measured space (the shares sum to 1 within "
                  f"{abs(split.share_sum_error):.1e})",
                  f"hallucination map: {found.regions} region{'s' * (found.regions != 1)}, {found.area_px} px "
                  f"({self._area_percent():.2f} % of the {self.pool}); {self._map_settings()}; "
                  f"{found.removed_regions} smaller region{'s' * (found.removed_regions != 1)} dropped"]
        if info.method == "exact":
            facts.append("P = A⁺A applied exactly (A*A is itself the projector: keep the sampled k-space)")
        else:
            state = "converged" if info.converged else (
                "NOT converged: the null-space part also holds directions the data see only weakly, and its share "
                "falls as cg_iterations grows")
            facts.append(f"P = A⁺A by conjugate gradients: {info.iterations} iterations, relative residual "
                         f"{info.residual:.1e} ({state} at {info.tolerance:g})")
        if self.padded_from:
            facts.append(f"the {self.what} was zero-padded from {self.padded_from[0]}×{self.padded_from[1]} to the "
                         "acquisition's grid before splitting (shares on that grid)")
        facts.append("maps show magnitudes |·| of each part")
        return facts


def run(inputs: AnalysisInput, config: Config) -> Generator[AnalysisStep, None, NullSpaceResult]:
    """Split the error (or an attack's change) into measured and null-space parts, and map the hallucinations.

    Yields the attack's steps (when it runs), the projection's progress and a final step with the view.
    """
    _check_operator(inputs.op)
    no_ground_truth = inputs.x_true is None
    mode = "attack_change" if no_ground_truth else config.of
    attack, offset = {}, 0
    if mode == "error":
        after, before = inputs.clean[:1].double(), inputs.x_true[:1].double()
    else:
        perturbed, attack = yield from _attack(inputs, config)
        after, before, offset = perturbed, inputs.clean[:1].double(), attack["steps"]
    target = after - before
    total = offset + 2
    on_grid, padded_from = _on_operator_grid(target, inputs.op)
    split = yield from _split_with_progress(inputs.op, on_grid, config, offset + 1, total)
    if padded_from is not None:
        split = _cropped(split, padded_from)
    pool, pool_name = _pool(inputs, config)
    found = hallucination_map(np.abs(split.null), config.smoothing_sigma_px, config.percentile,
                              config.min_region_px, pool)
    result = NullSpaceResult(config, inputs.label, mode, no_ground_truth, inputs.clean[0].cpu().numpy(),
                             target[0].cpu().numpy(), split, found, pool_name,
                             float(torch.sqrt(metrics.mse(after.cpu(), before.cpu()))[0]), padded_from, attack)
    yield AnalysisStep(total, total, result.headline(), result.view())
    return result


def _split_with_progress(op: Operator, image: Tensor, config: Config, step: int,
                         total: int) -> Generator[AnalysisStep, None, Decomposition]:
    """:func:`decompose`, with a progress step every few CG iterations (where the user may cancel)."""
    steps = decompose_steps(op, image, config.cg_iterations, config.cg_tolerance)
    history: list[tuple[int, float]] = []
    while True:
        try:
            iteration, residual = next(steps)
        except StopIteration as done:
            return done.value
        history.append((iteration, residual))
        if iteration % CG_REPORT_EVERY == 0:  # the residual curve grows as CG runs, as the result draws it
            curve = Curve("Conjugate gradients for P = A⁺A", "iteration", RESIDUAL_WORDS,
                          [float(i) for i, _ in history], {"residual": [r for _, r in history]})
            yield AnalysisStep(step, total, f"conjugate gradients: iteration {iteration}, residual {residual:.1e}",
                               AnalysisView(curves=[curve]))


def _check_operator(op: Operator) -> None:
    """A file's multi-coil k-space has no coil sensitivities: there is no A to project with."""
    if isinstance(op, MRIOperator) and op.coil_maps is None and not is_partial_isometry(op):
        raise ExperimentError("the null space needs the coil sensitivities, which this file's multi-coil k-space "
                              "does not provide: use a single-coil file or a simulated acquisition")


def _attack(inputs: AnalysisInput, config: Config) -> Generator[AnalysisStep, None, tuple[Tensor, dict]]:
    """Run the experiment's own attack; returns f(y + δ) (1, H, W) float64 and a record of the attack."""
    from ..attacks.run import run_attack
    from ..problem import bind

    experiment = inputs.experiment
    if config.attack_steps:
        experiment = replace(experiment, optimizer=replace(experiment.optimizer, steps=config.attack_steps))
    attack = run_attack(bind(experiment, inputs.reconstruction))
    while True:
        try:
            step = next(attack)
        except StopIteration as done:
            result = done.value
            break
        yield AnalysisStep(step.step, step.total + 2, f"attack step {step.step}/{step.total}: "
                                                      f"objective {step.objective:.3g}")
    perturbed = torch.from_numpy(np.asarray(result.perturbed, dtype=np.float64))[None].to(inputs.device)
    record = {"steps": int(experiment.optimizer.steps * experiment.optimizer.restarts),
              "realised_eps": float(result.norms["realised_eps"]), "seconds": float(result.seconds)}
    return perturbed, record


def _on_operator_grid(image: Tensor, op: Operator) -> tuple[Tensor, tuple[int, int] | None]:
    """``image`` zero-padded (centred, as center_crop crops) to the grid A acts on, when a file's reconstruction
    was cropped (fastMRI: 320 × 320 of a 640 × 368 encoding); and the shape it was padded from (None: as is)."""
    grid = getattr(op, "image_shape", None)
    shape = tuple(image.shape[-2:])
    if grid is None or tuple(grid) == shape:
        return image, None
    if grid[0] < shape[0] or grid[1] < shape[1]:
        raise ExperimentError(f"the reconstruction ({shape[0]}×{shape[1]}) is larger than the acquisition's grid "
                              f"({grid[0]}×{grid[1]}): there is no null space to split it on")
    top, left = (grid[0] - shape[0]) // 2, (grid[1] - shape[1]) // 2
    padded = image.new_zeros((*image.shape[:-2], *grid))
    padded[..., top:top + shape[0], left:left + shape[1]] = image
    return padded, shape


def _cropped(split: Decomposition, shape: tuple[int, int]) -> Decomposition:
    """The parts cropped back to the reconstruction's grid (the shares stay those of the whole grid)."""
    crop = [center_crop(torch.from_numpy(part), shape).numpy() for part in (split.measured, split.null)]
    return replace(split, measured=crop[0], null=crop[1])


def _pool(inputs: AnalysisInput, config: Config) -> tuple[np.ndarray | None, str]:
    """Where the percentile is taken and regions may lie: the region, else the object, else the whole image."""
    if inputs.region is not None:
        return inputs.region_numpy().astype(bool), "region"
    reference = inputs.x_true if inputs.x_true is not None else inputs.clean
    image = reference[0].abs().cpu().numpy() if reference.is_complex() else reference[0].cpu().numpy()
    peak = float(image.max())
    if config.object_level == 0 or not peak > 0:
        return None, "image"
    support = image > config.object_level * peak
    return (support, "object") if support.any() else (None, "image")
