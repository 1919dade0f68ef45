"""A study from what the app has open and chosen: the source, the choices every cell shares, the reconstructions
that read the same acquisition, and the grid's axes as the user types them ("12, 14-16", "0.25, 1, 2.5 %").

The app's "Compare reconstructions" window builds its :class:`~.grid.StudyConfig` only through these functions, so
the rules (what is shared, what varies, what a typed axis means) live here and are tested without Qt.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from ..choices import Choices
from ..errors import ALLOW_PICKLE, ExperimentError
from ..experiment import Experiment
from .grid import StudyConfig, _check_recon

CLASSICAL = {"mri": ("zero-filled", "tv", "wavelet"), "ct": ("fbp", "tv", "wavelet"),
             "denoise": ("identity", "tv", "wavelet")}
"""The reconstructions without a model file, per acquisition kind: its own baseline and the two classical priors."""

MODEL_SUFFIXES = (".pt", ".pth", ".ckpt", ".ts")
"""The file names a user's model may have: PyTorch checkpoints and TorchScript archives."""
USER_RECONS = ("checkpoint", "torchscript")
"""The reconstructions that read a user's file."""

EPS_PERCENT = (0.25, 0.5, 1.0, 2.0, 2.5, 8.0)
"""The default ε values of the app's study, in % of ‖y‖: the budgets of published robustness studies."""


def recons_for(kind: str) -> list[str]:
    """The reconstructions a study can compare on a ``kind`` ("mri", "ct", "denoise") acquisition: the built-in
    models trained for it (by name), then the classical ones. A user's file is added with :func:`user_recon`."""
    from ..recon.zoo import MODELS

    learned = sorted(name for name, entry in MODELS.items() if entry.modality == kind)
    return learned + list(CLASSICAL.get(kind, ()))


class UserModel(NamedTuple):
    """A user's file as a study's reconstruction: ``recon`` for :attr:`StudyConfig.recons`, ``description`` in
    words (e.g. "fastMRI U-Net, 8 channels, 2 pools")."""

    recon: dict
    description: str


def _one_line(text: str) -> str:
    return " ".join(text.split())


def user_recon(path: str | Path) -> UserModel:
    """What the file at ``path`` is as a study's reconstruction: a fastMRI U-Net or E2E-VarNet state_dict
    ({"name": "checkpoint", "weights": absolute path}; read as the app's model card reads it, tensors only) or a
    TorchScript archive ({"name": "torchscript", …}). A study never unpickles, so a file holding pickled objects is
    refused. Raises :class:`ExperimentError`, one line naming the file, for anything that cannot be a model."""
    from ..recon.architectures import inspect_checkpoint
    from ..recon.checkpoints import CheckpointError
    from ..recon.factory import load_torchscript

    path = Path(path).expanduser().absolute()
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ExperimentError(f"{path.name}: not a model file; a model is a PyTorch checkpoint or a TorchScript "
                              f"archive ({', '.join(MODEL_SUFFIXES)})")
    try:
        found = inspect_checkpoint(path, allow_pickle=False)
        return UserModel({"name": "checkpoint", "weights": str(path)}, found.describe())
    except CheckpointError as err:
        refusal = err
    try:
        load_torchscript(str(path))
        return UserModel({"name": "torchscript", "weights": str(path)}, "TorchScript network")
    except CheckpointError as err:
        if path.suffix.lower() == ".ts":  # named as TorchScript: its reason says most
            refusal = err
    reason = refusal.reason
    if refusal.hints == ALLOW_PICKLE:  # the app may allow pickled objects for one attack; a study never does
        reason = ("it holds pickled Python objects, which could run code, and a study never unpickles: save the "
                  "model as TorchScript or as a weights-only state_dict")
    raise ExperimentError(_one_line(f"{path.name}: {reason}")) from None


def study_source(experiment: Experiment) -> dict:
    """The source section of ``experiment`` without its slice (the study's slices axis chooses it): a file with
    what was picked inside it, or a built-in example; the working size when one was chosen."""
    source = experiment.source
    if source.path:
        entry = {"path": source.path}
        if source.choices:
            entry["choices"] = dict(source.choices)
    else:
        entry = {"demo": source.demo}
    if source.image_size is not None:
        entry["image_size"] = int(source.image_size)
    return entry


def shared_choices(experiment: Experiment, choices: Choices) -> dict:
    """What every cell shares, as a study's ``choices``: the threat (norm, domain… but not ε, which varies, and
    always relative: the study's ε values are fractions of ‖y‖), the objective, the optimizer, the drawn region
    and the device of ``experiment``; the acquisition settings the user set (``choices.operator``) but not those a
    model brought, so that each reconstruction reads the acquisition it was made for unless the user chose one.
    The source, the reconstruction, its transfer surrogate and the seed are left to the grid."""
    data = experiment.to_dict()
    threat = {k: v for k, v in data["threat"].items() if k != "eps"}
    threat["eps_mode"] = "relative"
    shared = {"threat": threat, "objective": dict(data["objective"]), "optimizer": dict(data["optimizer"]),
              "device": experiment.device}
    if choices.operator:
        shared["operator"] = dict(choices.operator)
    if experiment.region:
        shared["region"] = experiment.region
    return shared


def _numbers(text: str, what: str) -> list[str]:
    parts = [p for p in re.split(r"[,;\s]+", text.replace("%", " ").strip()) if p]
    if not parts:
        raise ExperimentError(f"give at least one {what}")
    return parts


def parse_slices(text: str, n_slices: int) -> tuple[int, ...]:
    """Slice numbers (from 0, as the app's slice control counts) from "12, 14-16" → (12, 14, 15, 16): sorted,
    each once. Raises :class:`ExperimentError` for a word that is not a number or a range, or a slice outside
    0 … ``n_slices`` − 1."""
    found: set[int] = set()
    for part in _numbers(text.replace(" - ", "-"), "slice"):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if match is None:
            raise ExperimentError(f"slices: {part!r} is not a slice number or a range such as 14-16")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) else low
        if high < low:
            raise ExperimentError(f"slices: the range {part} runs backwards; write {high}-{low}")
        if high >= n_slices:
            raise ExperimentError(f"slices: {high} is past the last slice ({n_slices - 1}); the scan has "
                                  f"{n_slices} slice{'s' if n_slices != 1 else ''}, numbered from 0")
        found.update(range(low, high + 1))
    return tuple(sorted(found))


def parse_eps_percent(text: str) -> tuple[float, ...]:
    """ε values typed in % of ‖y‖ ("0.25, 1, 2.5 %") as fractions (0.0025, 0.01, 0.025): sorted, each once.
    Raises :class:`ExperimentError` for a value that is not a number in (0, 100]."""
    values: set[float] = set()
    for part in _numbers(text, "ε value"):
        try:
            percent = float(part)
        except ValueError:
            raise ExperimentError(f"ε: {part!r} is not a number (write percentages such as 0.5, 1, 2.5)") from None
        if not 0 < percent <= 100:
            raise ExperimentError(f"ε: {part} % is outside (0, 100] %")
        values.add(round(percent / 100, 10))
    return tuple(sorted(values))


def format_eps_percent(eps: tuple[float, ...] | list[float]) -> str:
    """Fractions of ‖y‖ as the app writes them: (0.0025, 0.01) → "0.25, 1"."""
    return ", ".join(f"{100 * e:g}" for e in sorted(eps))


def app_study(experiment: Experiment, choices: Choices, recons: list[str | dict], eps: tuple[float, ...],
              slices: tuple[int, ...], n_seeds: int) -> StudyConfig:
    """The study the app runs: ``recons`` (names, or a user's file as :func:`user_recon` gives it) on the open
    scan's ``slices`` at each ``eps`` (fractions of ‖y‖), with ``n_seeds`` seeds from the experiment's own seed on,
    every other choice shared (:func:`shared_choices`). A reconstruction that allows unpickling is refused."""
    if not recons:
        raise ExperimentError("tick at least one reconstruction to compare")
    for recon in recons:
        _check_recon(recon, "the study")  # a user's file: never with unpickling allowed
    if n_seeds < 1:
        raise ExperimentError("a study needs at least one seed")
    seeds = tuple(range(int(experiment.seed), int(experiment.seed) + int(n_seeds)))
    return StudyConfig(sources=(study_source(experiment),), recons=tuple(recons), eps=tuple(eps), seeds=seeds,
                       slices=tuple(slices), choices=shared_choices(experiment, choices))
