"""Test-time training (Darestani, Liu & Heckel, ICML 2022): adapt a network to the one measurement it reconstructs.

A copy of the network f_θ is trained for a set number of Adam steps on the self-supervised loss

    L(θ) = ‖M_Λ (A f_θ(M_Θ y) − y)‖² / ‖M_Λ y‖²

where A is the acquisition (for MRI: coil sensitivities, FFT and the column mask) and y the measurement. Without a
split, Θ = Λ = the acquired samples (Darestani et al.); with ``split`` = ρ, a seeded fraction ρ of the acquired
k-space columns outside the fully sampled centre forms Λ, held out of the network's input, and the rest Θ is the
input (SSDU, Yaman et al. 2020), so the network cannot lower the loss by copying its input. The adapted copy is
then frozen and reconstructs from the whole measurement. The original module, and its weights on disk, are never
touched: the copy is deep, and nothing is written.

Where the loss cannot say anything it is refused: methods without learned weights (classical solvers, the Deep
Decoder, which fits a fresh network anyway), the diffusion reconstruction (data-consistent by construction),
denoising (A = I: the noisy input itself minimises the loss), a
file's raw k-space (the networks give magnitude images; the recorded k-space carries phase), a split outside MRI.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

from .. import metrics
from ..errors import ExperimentError
from ..physics.base import Operator
from ..physics.masks import center_columns
from ..physics.mri import MRIOperator
from .config import TTT_MAX_SPLIT, TTT_MAX_STEPS, TTTSettings, ttt_settings

Progress = Callable[[int, int, float], None]
"""``progress(step, steps, loss)`` after each adaptation step (the app's progress bar)."""

NO_WEIGHTS = ("test-time training adapts a network's learned weights to the scan, and {name} has none: turn it off "
              "or pick a network")
DENOISING = ("test-time training cannot work for denoising: there A = I, so ‖f(y) − y‖² is smallest when the "
             "network returns the noisy image unchanged")


@dataclass
class TTTRecord:
    """What one adaptation did: its settings, the loss before, after and at every step, and its time.

    Attributes
    ----------
    losses : list of float
        L(θ_k) for k = 0 … steps (the first before any update, the last after the final one).
    held_out_columns, input_columns : int
        |Λ| and |Θ| (k-space columns); without a split both are the acquired columns (0 outside MRI).
    clean : dict
        Filled by the experiment: the clean reconstruction's SSIM / PSNR against the reference before and after
        adaptation ({"before": {...}, "after": {...}}); {} without a reference.
    """

    settings: dict
    losses: list[float]
    held_out_columns: int
    input_columns: int
    seconds: float
    clean: dict = field(default_factory=dict)

    @property
    def loss_before(self) -> float:
        return self.losses[0]

    @property
    def loss_after(self) -> float:
        return self.losses[-1]

    def to_dict(self) -> dict:
        return {**asdict(self), "loss_before": self.loss_before, "loss_after": self.loss_after,
                "seconds": round(self.seconds, 3)}


# --- what can be adapted --------------------------------------------------------------------------------------
def check_test_time(experiment, file_kspace: bool = False, scan_known: bool = True) -> None:
    """The settings' ranges, and (``scan_known``) whether this reconstruction and acquisition can be adapted
    (``file_kspace``: the acquisition is a file's own k-space).

    Raises
    ------
    ExperimentError
        One line naming the setting and the problem.
    """
    recon = experiment.recon
    try:
        settings = ttt_settings(recon)
    except (TypeError, ValueError) as err:
        raise ExperimentError(f"test-time training: {err}") from None
    if settings is None:
        return
    _check_ranges(settings)
    if scan_known:
        _check_fit(experiment, file_kspace, settings)


def _check_ranges(s: TTTSettings) -> None:
    whole = isinstance(s.steps, int) and not isinstance(s.steps, bool)
    if not (whole and 1 <= s.steps <= TTT_MAX_STEPS):
        raise ExperimentError(f"test-time training steps must be a whole number 1..{TTT_MAX_STEPS}, not {s.steps}")
    if not (_number(s.lr) and 0 < s.lr <= 1):
        raise ExperimentError(f"test-time training learning rate must be in (0, 1], not {s.lr}")
    if not (_number(s.split) and 0 <= s.split <= TTT_MAX_SPLIT):
        raise ExperimentError(f"test-time training split (the fraction of acquired samples held out for the loss) "
                              f"must be in [0, {TTT_MAX_SPLIT:g}], not {s.split}")
    if not (isinstance(s.seed, int) and not isinstance(s.seed, bool) and 0 <= s.seed < 2**63):
        raise ExperimentError(f"test-time training seed must be a whole number ≥ 0, not {s.seed}")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_fit(experiment, file_kspace: bool, settings: TTTSettings) -> None:
    from .factory import RECONSTRUCTORS
    from .zoo import MODELS

    name, kind = experiment.recon.name, experiment.operator.kind
    model = MODELS.get(name)
    classical = name in RECONSTRUCTORS and name not in ("checkpoint", "torchscript")
    if classical or (model is not None and not model.trainable):
        raise ExperimentError(NO_WEIGHTS.format(name=name))
    if model is not None and model.extra.get("trainer") == "diffusion":
        raise ExperimentError(f"{name} keeps every acquired sample by construction (data consistency at each "
                              "sampling step): the self-supervised loss is the noise alone, test-time training "
                              "cannot adapt it")
    if kind == "denoise":
        raise ExperimentError(DENOISING)
    if file_kspace:
        raise ExperimentError("test-time training compares A f(y) with y, but the networks give magnitude images "
                              "and this file's own k-space carries phase: use a simulated acquisition")
    if settings.split > 0 and kind != "mri":
        raise ExperimentError(f"a test-time training split holds out acquired k-space columns (MRI); for "
                              f"{kind.upper()} use split 0")


# --- the split ----------------------------------------------------------------------------------------------
def split_masks(op: Operator, split: float, seed: int) -> tuple[Tensor | None, Tensor | None]:
    """(Θ, Λ): the input and loss column masks, shaped like ``op.mask``; (None, None) without a split.

    Λ is ``round(split × acquired)`` columns drawn (seeded) from the acquired columns outside the fully sampled
    centre, which stays in Θ (the VarNet estimates coil sensitivities from it)."""
    if split == 0:
        return None, None
    acquired = op.mask.reshape(-1).cpu().numpy().astype(bool)
    centre = _centre(acquired, getattr(op, "num_low_frequencies", None))
    candidates = np.flatnonzero(acquired & ~centre)
    count = int(round(split * acquired.sum()))
    if count < 1:
        raise ExperimentError(f"a test-time training split of {split:g} holds out no column of the "
                              f"{int(acquired.sum())} acquired: use a larger split (or 0)")
    if count > len(candidates):
        raise ExperimentError(f"a test-time training split of {split:g} would hold out {count} columns, but only "
                              f"{len(candidates)} acquired columns lie outside the fully sampled centre")
    held = np.random.default_rng(seed).choice(candidates, size=count, replace=False)
    loss = np.zeros_like(acquired)
    loss[held] = True
    shape = op.mask.shape
    as_mask = lambda columns: torch.from_numpy(columns).reshape(shape).to(op.mask.device)  # noqa: E731
    return as_mask(acquired & ~loss), as_mask(loss)


def _centre(acquired: np.ndarray, num_low: int | None) -> np.ndarray:
    """The fully sampled centre: fastMRI's ``num_low_frequencies`` columns, else the acquired run around W // 2."""
    if num_low:
        return center_columns(len(acquired), num_low) & acquired
    centre = np.zeros_like(acquired)
    middle = len(acquired) // 2
    left = right = middle
    while left > 0 and acquired[left - 1]:
        left -= 1
    while right < len(acquired) and acquired[right]:
        right += 1
    centre[left:right] = True
    return centre


# --- the adaptation -------------------------------------------------------------------------------------------
def self_supervised_loss(model: nn.Module, op: Operator, y: Tensor, loss_mask: Tensor | None,
                         input_mask: Tensor | None) -> Tensor:
    """‖M_Λ (A f(M_Θ y) − y)‖² / ‖M_Λ y‖² (masks None: every acquired sample, as ``op`` acquires them)."""
    network_input = y if input_mask is None else y * input_mask
    residual = op(model(network_input)) - y
    target = y
    if loss_mask is not None:
        residual, target = residual * loss_mask, y * loss_mask
    return _energy(residual) / _energy(target).clamp_min(1e-30)


def _energy(t: Tensor) -> Tensor:
    return torch.sum(t.abs() ** 2) if t.is_complex() else torch.sum(t ** 2)


def adapt(recon: nn.Module, op: Operator, y: Tensor, settings: TTTSettings, name: str = "this reconstruction",
          progress: Progress | None = None) -> tuple[nn.Module, TTTRecord]:
    """A copy of ``recon`` adapted to the measurement ``y`` (frozen, eval mode), and the record of what was done.

    ``recon`` itself is left as it was (its parameters are not even read for writing). Deterministic for the
    settings' seed on one device and thread count.

    Raises
    ------
    ExperimentError
        If ``recon`` has no parameters to adapt, or the loss is not finite.
    """
    started = time.perf_counter()
    model = copy.deepcopy(recon).eval()
    weights = [p for p in model.parameters() if p.is_floating_point()]
    if not weights:
        raise ExperimentError(NO_WEIGHTS.format(name=name))
    input_mask, loss_mask = split_masks(op, settings.split, settings.seed)
    operators = [m for m in model.modules() if isinstance(m, MRIOperator)]
    for p in weights:
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(weights, lr=settings.lr)
    y = y.detach()
    losses = []
    with torch.enable_grad(), _input_columns(operators, input_mask):
        for step in range(settings.steps + 1):
            loss = self_supervised_loss(model, op, y, loss_mask, input_mask)
            losses.append(_finite_loss(loss, name))
            if progress is not None and step > 0:
                progress(step, settings.steps, losses[-1])
            if step == settings.steps:
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    for p in model.parameters():
        p.requires_grad_(False)
    acquired = int(op.mask.sum()) if isinstance(op, MRIOperator) else 0
    held = 0 if loss_mask is None else int(loss_mask.sum())
    record = TTTRecord(asdict(settings), losses, held or acquired, acquired - held,
                       time.perf_counter() - started)
    return model, record


def _finite_loss(loss: Tensor, name: str) -> float:
    value = float(loss.detach())
    if not math.isfinite(value):
        raise ExperimentError(f"test-time training of {name} diverged (the loss became {value}): lower the "
                              "learning rate")
    return value


class _input_columns:
    """While adapting, the copy's own operators acquire only Θ (the VarNet's data consistency reads its mask)."""

    def __init__(self, operators: list[MRIOperator], input_mask: Tensor | None):
        self.operators, self.input_mask, self.saved = operators, input_mask, []

    def __enter__(self):
        if self.input_mask is not None:
            self.saved = [op.mask for op in self.operators]
            for op in self.operators:
                op.mask = self.input_mask
        return self

    def __exit__(self, *exc):
        for op, mask in zip(self.operators, self.saved):
            op.mask = mask
        return False


class TestTimeAdapted(nn.Module):
    """A reconstruction adapted to one measurement: f_θ* (frozen), its record, and what re-adapting needs.

    ``forward`` is the adapted network. :meth:`readapt` adapts a fresh copy of the original network to another
    measurement, as a deployed TTT system does with whatever it receives (e.g. y + δ).
    """

    def __init__(self, adapted: nn.Module, original: nn.Module, op: Operator, settings: TTTSettings,
                 record: TTTRecord, name: str):
        super().__init__()
        self.adapted, self.op, self.settings, self.record, self.name = adapted, op, settings, record, name
        self.__dict__["original"] = original  # not a submodule: its weights are not this module's

    def forward(self, y: Tensor) -> Tensor:
        return self.adapted(y)

    def config(self) -> dict:
        inner = self.original.config() if hasattr(self.original, "config") else {}
        return {**inner, "ttt": asdict(self.settings)}

    def readapt(self, y: Tensor) -> tuple[Tensor, TTTRecord]:
        """f adapted afresh to ``y`` (from the original weights) and its reconstruction of ``y``."""
        model, record = adapt(self.original, self.op, y, self.settings, self.name)
        with torch.no_grad():
            return model(y), record


def adapted_reconstruction(recon: nn.Module, op: Operator, y: Tensor, settings: TTTSettings, name: str,
                           progress: Progress | None = None) -> TestTimeAdapted:
    """``recon`` adapted to ``y``, wrapped with its record (:class:`TestTimeAdapted`)."""
    model, record = adapt(recon, op, y, settings, name, progress)
    return TestTimeAdapted(model, recon, op, settings, record, name)


def scores(image: Tensor, anchor: Tensor, data_range: float | None = None) -> dict:
    """Every metric of one image (B = 1) against ``anchor``, on the range the attack's metrics use: ``data_range``
    (a fastMRI file's max), else the anchor's maximum."""
    scale = data_range or float(anchor[0].max())
    return metrics.compare(image[0].detach().cpu(), anchor[0].detach().cpu(), data_range=scale)


def clean_scores(image: Tensor, reference: Tensor | None, data_range: float | None) -> dict:
    """SSIM and PSNR (dB) of a clean reconstruction against the reference ({} without one)."""
    if reference is None:
        return {}
    values = scores(image, reference, data_range)
    return {"ssim": values["ssim"], "psnr": values["psnr"]}


def deployment(problem, delta: Tensor) -> dict | None:
    """For an attacked :class:`TestTimeAdapted`: its record, and a fresh copy re-adapted on the perturbed
    measurement with that reconstruction's metrics against the clean (adapted) one and the reference; None for
    any other reconstruction. ``problem``: an AttackProblem."""
    recon = problem.recon
    if not isinstance(recon, TestTimeAdapted):
        return None
    image, record = recon.readapt(problem.perturbed_measurement(delta).detach())
    deployed = {**record.to_dict(), "vs_clean": scores(image, problem.clean)}
    if problem.reference is not None:
        deployed["vs_reference"] = scores(image, problem.reference, problem.data_range)
    return {"adaptation": recon.record.to_dict(), "deployed": deployed}


def _scored(values: dict | None) -> str:
    return f"SSIM {values['ssim']:.4f}, PSNR {values['psnr']:.2f} dB" if values else "no reference to score"


def test_time_lines(test_time: dict) -> list[str]:
    """:func:`deployment`'s record in words: what the adaptation did, the clean reconstruction against the
    reference before and after it, and the network re-adapted on y + δ (the CLI's summary, the app's status)."""
    done, deployed = test_time["adaptation"], test_time["deployed"]
    s = done["settings"]
    split = f"{s['split']:g} of the acquired columns held out (seed {s['seed']})" if s["split"] else "no split"
    clean = done.get("clean") or {}
    return [f"test-time training: {s['steps']} Adam steps at lr {s['lr']:g}, {split}: self-supervised loss "
            f"{done['loss_before']:.4g} → {done['loss_after']:.4g} in {done['seconds']:.1f} s; clean vs reference "
            f"before: {_scored(clean.get('before'))}; after: {_scored(clean.get('after'))}",
            f"deployed test-time training (re-adapted on y + δ): {_scored(deployed.get('vs_reference'))} vs "
            f"reference, SSIM {deployed['vs_clean']['ssim']:.4f} vs the clean adapted reconstruction"]


def test_time_words(test_time: dict) -> str:
    """The same in plain words for the app, e.g. "Tuned to this scan first (20 steps): without attack, SSIM against
    the reference 0.705 → 0.822. Tuned afresh on the attacked data, as a scanner using it would: SSIM 0.815."."""
    done, deployed = test_time["adaptation"], test_time["deployed"]
    clean = done.get("clean") or {}
    text = f"Tuned to this scan first ({done['settings']['steps']} steps)"
    if clean.get("before") and clean.get("after"):
        text += (f": without attack, SSIM against the reference {clean['before']['ssim']:.3f} → "
                 f"{clean['after']['ssim']:.3f}")
    anchor, words = ("vs_reference", "against the reference") if deployed.get("vs_reference") else (
        "vs_clean", "against the un-attacked image")
    return (text + f". Tuned afresh on the attacked data, as a scanner using it would: SSIM "
                   f"{deployed[anchor]['ssim']:.3f} {words}.")
