"""Every check an experiment passes before any work starts, for the CLI and the app alike.

A failure is an :class:`~halluview.core.errors.ExperimentError` (a ValueError): one line that names the setting
(and the file) and says what would work, in words both front ends can show; what only one front end's user can do
travels as its hint (``error.hints``). The CLI prints it with its hint and exits with code 2; the app shows it with
its own hint and keeps the previous settings.

Rules worth knowing (documented in the README too):

* a relative budget ε is a fraction of the clean measurement's size: 0 < ε ≤ 1, i.e. at most 100 % of ‖y‖;
* resized images are at least :data:`MIN_IMAGE_SIZE` pixels a side (above the 7-pixel SSIM window), at most
  :data:`MAX_IMAGE_SIZE`; a U-Net that pools four times needs 32 pixels on one side and 16 on the other, and says so;
* a reconstruction must read the acquisition: a built-in model its own modality, "zero-filled" / "fbp" /
  "identity" only MRI / CT / denoising; multi-coil networks (E2E-VarNet) need at least two coils. Single-coil
  networks (U-Net, DnCNN) accept multi-coil data: they post-process the coil-combined (root-sum-of-squares)
  zero-filled image, as fastMRI's multi-coil U-Net baseline does;
* the file's own k-space (fastMRI) is attacked as recorded: its coil count comes from the file, no resizing;
* bf16, channels-last and torch.compile (the ``compute`` section) apply to a feed-forward network only: a
  classical solver, the Deep Decoder, the diffusion sampler or test-time training is refused with the reason.
"""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import torch

from .errors import CLI, NEEDS_REGION, NEEDS_WEIGHTS, NO_SUCH_DEVICE, ExperimentError
from .settings import LesionSettings, check_noise

MIN_IMAGE_SIZE = 16
"""Smallest resized side (pixels): above the SSIM window (the U-Nets need 32×16 and refuse less in words)."""
MAX_IMAGE_SIZE = 2048
"""Largest resized side (pixels): beyond it one CT simulation alone needs gigabytes."""
SSIM_WINDOW = 7
"""Side of the SSIM window (pixels, skimage's default): no reconstruction may be smaller."""
MAX_RELATIVE_EPS = 1.0
"""A relative budget of 1 is a perturbation as large as the measurement itself (100 % of ‖y‖)."""
BASELINE_KINDS = {"zero-filled": "mri", "fbp": "ct", "identity": "denoise"}
"""Each operator's own baseline reconstruction, by name."""
SURROGATE_KINDS = ("tv", "wavelet", *BASELINE_KINDS)
"""Reconstructions besides the built-in models that a transfer attack can go through (they need no file)."""


def _require(condition: bool, message: str, hints: dict | None = None) -> None:
    if not condition:
        raise ExperimentError(message, hints)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def source_label(source) -> str:
    """The file (or "demo:<name>") a message should name."""
    return source.path or f"demo:{source.demo}"


# --- the settings, one section at a time --------------------------------------------------------------------
def check_source(source, facts=None) -> None:
    """Slice and resize size (the slice against the scan when its facts are known)."""
    from .samples import SAMPLES

    _require(source.path is not None or source.demo is not None, "no scan: give a file or a built-in example")
    if not source.path:
        _require(source.demo in SAMPLES, f"no built-in example {source.demo!r}; available: {', '.join(SAMPLES)}")
        _require(not source.choices, f"the built-in example {source.demo} holds one scan: there is no series, "
                                     "volume or dataset to choose")
    if source.slice is not None:
        _require(_whole(source.slice) and source.slice >= 0, f"slice must be a whole number ≥ 0, not {source.slice}")
        if facts is not None:
            _require(source.slice < facts.n_slices, f"slice {source.slice} is outside {source_label(source)}: it "
                     f"has {facts.n_slices} slice{'s' if facts.n_slices != 1 else ''} (0..{facts.n_slices - 1})")
    size = source.image_size
    if size is not None:
        _require(_whole(size) and MIN_IMAGE_SIZE <= size <= MAX_IMAGE_SIZE,
                 f"image size must be {MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE} pixels (the SSIM window is {SSIM_WINDOW} "
                 f"pixels and the networks pool 4 times), not {size}")


def check_operator(op, noise_fits: bool = True) -> None:
    """Acquisition settings: acceleration, centre, coils, mask, angles, seeds and noise (``noise_fits``: also
    that the noise model suits the operator's kind, known once the scan is)."""
    from .physics.ct import ANGLE_KINDS
    from .physics.mri import MASKS

    _require(_finite(op.acceleration) and op.acceleration >= 1,
             f"acceleration must be at least 1 (1 = fully sampled), not {op.acceleration}")
    _require(_finite(op.center_fraction) and 0 < op.center_fraction <= 1,
             f"centre fraction must be in (0, 1] (0.08 = the central 8 % of k-space lines), not {op.center_fraction}")
    _require(_whole(op.n_coils) and 1 <= op.n_coils <= 64, f"coils must be 1..64, not {op.n_coils}")
    _require(op.mask_type in (*MASKS, "full"), f"mask must be one of {', '.join((*MASKS, 'full'))}, not "
                                               f"{op.mask_type!r}")
    _require(op.angles in ANGLE_KINDS, f"angles must be one of {', '.join(ANGLE_KINDS)}, not {op.angles!r}")
    _require(_whole(op.n_angles) and 1 <= op.n_angles <= 100_000, f"views must be 1..100000, not {op.n_angles}")
    _require(_finite(op.max_angle_deg) and 0 < op.max_angle_deg <= 180,
             f"the limited-angle range must be in (0, 180] degrees, not {op.max_angle_deg}")
    for name, seed in (("mask seed", op.mask_seed), ("noise seed", op.noise_seed)):
        _require(_whole(seed) and 0 <= seed < 2**63, f"{name} must be a whole number ≥ 0, not {seed}")
    check_noise(op.noise, op.kind if noise_fits else None)


def check_threat(threat) -> None:
    """Budget: ε in range (relative: 0 < ε ≤ 1), patch area and L∞ bound positive, per-coil where it applies."""
    _require(_finite(threat.eps) and threat.eps > 0, f"ε must be a positive number, not {threat.eps}")
    if threat.eps_mode == "relative":
        _require(threat.eps <= MAX_RELATIVE_EPS,
                 f"ε = {threat.eps:g} is {threat.eps * 100:g} % of the clean measurement's size: a relative budget "
                 f"is a fraction, 0 < ε ≤ 1 (at most 100 %); for an absolute size use eps mode absolute")
    if threat.patch_area_px is not None:
        _require(_whole(threat.patch_area_px) and threat.patch_area_px >= 1,
                 f"patch area must be at least 1 pixel, not {threat.patch_area_px}")
    _require(not threat.per_coil or threat.domain == "measurement", "a per-coil budget applies to the "
                                                                    "measurement domain only")


def check_objective(objective) -> None:
    """Outside weight, and a lesion that can be drawn (a line needs its two end points)."""
    _require(_finite(objective.outside_weight) and objective.outside_weight >= 0,
             f"the outside weight must be a number ≥ 0, not {objective.outside_weight}")
    LesionSettings.from_dict(objective.lesion).check_drawable(objective.kind)


def check_optimizer(optimizer) -> None:
    _require(_whole(optimizer.steps) and 1 <= optimizer.steps <= 1_000_000, f"steps must be 1..1000000, not "
                                                                             f"{optimizer.steps}")
    _require(_whole(optimizer.restarts) and 1 <= optimizer.restarts <= 1000, f"restarts must be 1..1000, not "
                                                                              f"{optimizer.restarts}")
    if optimizer.step_size is not None:
        _require(_finite(optimizer.step_size) and optimizer.step_size > 0,
                 f"step size must be a positive fraction of the budget radius, not {optimizer.step_size}")


def check_recon_params(recon) -> None:
    """Whole numbers where the method counts (iterations, channels, pooling layers), finite weights."""
    from .recon.config import resolved_params

    counts = ("n_iter", "levels", "chans", "num_pool_layers", "num_cascades", "sens_chans", "sens_pools",
              "sampling_steps")
    for key, value in resolved_params(recon.name, recon.params).items():
        if key in counts:
            _require(_whole(value) and value >= 1, f"{recon.name} {key} must be a whole number ≥ 1, not {value}")
        elif key == "sampler_seed":
            _require(_whole(value) and value >= 0, f"{recon.name} sampler seed must be a whole number ≥ 0, not {value}")
        elif key == "eta":
            _require(_finite(value) and 0 <= value <= 1, f"{recon.name} eta must be between 0 and 1, not {value}")
        elif key in ("lam", "threshold"):
            _require(_finite(value) and value >= 0, f"{recon.name} {key} must be a number ≥ 0, not {value}")


def check_test_time(experiment, facts=None, scan_known: bool = True) -> None:
    """Test-time training's settings, and whether this reconstruction can be adapted (:mod:`.recon.test_time`)."""
    from .recon.test_time import check_test_time as check

    check(experiment, uses_file_kspace(experiment, facts), scan_known)


def check_device(name: str) -> None:
    """'auto', or a device torch can use on this computer."""
    if name == "auto":
        return
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise ExperimentError(f"unknown device {name!r}: use auto, cpu, cuda or cuda:N") from None
    if device.type == "cpu":
        return
    if device.type == "cuda":
        _require(torch.cuda.is_available(), f"device {name}: torch finds no CUDA GPU on this computer",
                 NO_SUCH_DEVICE)
        count = torch.cuda.device_count()
        _require(device.index is None or device.index < count, f"device {name}: this computer has {count} CUDA "
                                                               f"device{'s' if count != 1 else ''} (cuda:0.."
                                                               f"cuda:{count - 1})")
        return
    backend = torch.backends.mps if device.type == "mps" else getattr(torch, device.type, None)
    available = getattr(backend, "is_available", None)
    _require(callable(available) and available(), f"device {name} is not available here; use cpu or auto")


def check_compute(experiment) -> None:
    """How the attacked network is computed (:mod:`.recon.acceleration`): known values, a feed-forward network
    to apply them to, a torch.compile backend torch knows, a device with bf16."""
    from .recon.acceleration import PRECISIONS, refusal

    compute = experiment.compute
    _require(compute.precision in PRECISIONS, f"precision must be {' or '.join(PRECISIONS)}, not "
                                              f"{compute.precision!r}")
    for name in ("compile", "channels_last"):
        _require(isinstance(getattr(compute, name), bool), f"{name} must be true or false, not "
                                                           f"{getattr(compute, name)!r}")
    reason = refusal(compute, experiment.recon.name, experiment.recon.ttt)
    _require(reason is None, f"{compute.words()} applies to a network reconstruction only: {reason}",
             {CLI: "drop --precision bf16, --compile and --channels-last"})
    if compute.compile:
        from torch._dynamo import list_backends

        known = list_backends(exclude_tags=())
        _require(compute.backend in known, f"unknown torch.compile backend {compute.backend!r}; torch knows "
                                           f"{', '.join(known)}")
    if compute.precision == "bf16" and experiment.device != "auto":
        kind = torch.device(experiment.device).type
        _require(kind in ("cpu", "cuda"), f"bf16 autocast runs on the CPU or a CUDA GPU, not on {kind}")
    if compute.precision == "bf16" and experiment.device != "cpu" and torch.cuda.is_available():
        _require(torch.cuda.is_bf16_supported(), "this GPU has no bf16 arithmetic: use precision fp32")


# --- the reconstruction against the acquisition and the scan --------------------------------------------------
def uses_file_kspace(experiment, facts) -> bool:
    """Whether the attack reads the file's own k-space (an MRI acquisition of a file that holds raw data)."""
    op = experiment.operator
    return facts is not None and facts.kspace_coils is not None and op.kind == "mri" and op.use_file_kspace


def is_multi_coil_network(recon) -> bool:
    """Networks that estimate coil sensitivities from several coils (E2E-VarNet)."""
    from .recon.zoo import MODELS

    if recon.name == "checkpoint":
        return recon.params.get("arch") == "fastmri-varnet"
    model = MODELS.get(recon.name)
    return model is not None and model.operator.get("kind") == "mri" and model.operator.get("n_coils", 1) > 1


def _check_reads(name: str, kind: str, role: str) -> None:
    """Reconstruction ``name`` can read measurements of ``kind`` (``role``: "" or "the surrogate ")."""
    from .recon.factory import RECONSTRUCTORS, reconstructor_names
    from .recon.zoo import MODELS

    _require(name in RECONSTRUCTORS or name in MODELS,
             f"unknown reconstruction {name!r}; choose one of {', '.join(reconstructor_names())}")
    model = MODELS.get(name)
    if model is not None:
        _require(model.modality == kind, f"{role}{name} reconstructs {model.modality.upper()}, not {kind.upper()} "
                                         "measurements: pick another reconstruction or acquisition")
    if name in BASELINE_KINDS:
        own = {v: k for k, v in BASELINE_KINDS.items()}[kind]
        _require(BASELINE_KINDS[name] == kind, f"{role}{name} is the {BASELINE_KINDS[name].upper()} baseline; "
                                               f"{kind.upper()} measurements have {own}")


def check_fit(experiment, facts=None) -> None:
    """The reconstruction (and a transfer surrogate) reads this acquisition; the acquisition suits the scan."""
    op, recon = experiment.operator, experiment.recon
    _check_reads(recon.name, op.kind, "")
    if recon.name in ("checkpoint", "torchscript"):
        _require(bool(recon.weights), f"a {recon.name} reconstruction needs a weights file", NEEDS_WEIGHTS)
        _require(Path(recon.weights).is_file(), f"{recon.weights}: no such file")
        arch = recon.params.get("arch", "fastmri-unet")
        _require(recon.name != "checkpoint" or arch in ("fastmri-unet", "fastmri-varnet"),
                 f"unknown architecture {arch!r}; choose fastmri-unet or fastmri-varnet")
    file_kspace = uses_file_kspace(experiment, facts)
    coils = facts.kspace_coils if file_kspace else op.n_coils
    if is_multi_coil_network(recon):
        _require(op.kind == "mri" and coils >= 2, f"{recon.name} is a multi-coil network (it estimates coil "
                 f"sensitivities); this acquisition has {coils} coil{'s' if coils != 1 else ''}: set coils ≥ 2 or "
                 "pick a single-coil reconstruction")
    check_surrogate(experiment)
    if facts is not None:
        check_scan_fit(experiment, facts, file_kspace)


def check_surrogate(experiment) -> None:
    """A transfer surrogate is another reconstruction that reads the same measurements and needs no file."""
    from .recon.zoo import MODELS

    name = experiment.surrogate
    if not name:
        return
    _check_reads(name, experiment.operator.kind, "the surrogate ")
    _require(name in MODELS or name in SURROGATE_KINDS, f"the surrogate must be a built-in model or one of "
                                                         f"{', '.join(SURROGATE_KINDS)}, not {name!r}")
    _require(name != experiment.recon.name, "the surrogate is the attacked reconstruction itself: attack it "
                                            "directly")


def check_scan_fit(experiment, facts, file_kspace: bool) -> None:
    """What the scan allows: k-space with coils, an image above the SSIM window, no resizing of recorded data."""
    where = source_label(experiment.source)
    _require(facts.n_slices >= 1 and min(facts.shape) >= 1, f"{where}: the scan holds no image")
    if file_kspace:
        _require(facts.kspace_coils >= 1, f"{where}: its k-space holds no coil")
        _require(experiment.source.image_size is None, f"{where}: its own k-space is attacked as recorded, so it "
                                                       "cannot be resized (drop the image size)")
    size = experiment.source.image_size
    if size is None:
        rows, cols = facts.shape
        _require(min(rows, cols) >= SSIM_WINDOW, f"{where}: the image is only {rows}×{cols} pixels, smaller than the "
                                                 f"{SSIM_WINDOW}×{SSIM_WINDOW} SSIM window")


# --- the whole experiment --------------------------------------------------------------------------------------
def validate_settings(experiment, facts=None, scan_known: bool = True) -> None:
    """Every check that needs neither a drawn region nor any computation. Without ``scan_known`` (the CLI
    before it reads the file) the checks that depend on the acquisition's kind wait for the scan."""
    check_source(experiment.source, facts)
    check_operator(experiment.operator, noise_fits=scan_known)
    check_threat(experiment.threat)
    check_objective(experiment.objective)
    check_optimizer(experiment.optimizer)
    check_recon_params(experiment.recon)
    check_test_time(experiment, facts, scan_known)
    _require(_whole(experiment.seed) and 0 <= experiment.seed < 2**63, f"seed must be a whole number ≥ 0, not "
                                                                         f"{experiment.seed}")
    _require(experiment.image_every >= 1 and experiment.noise_draws >= 1,
             "image_every and noise_draws must be at least 1")
    check_device(experiment.device)
    check_compute(experiment)
    if scan_known:
        check_fit(experiment, facts)


def validate_experiment(experiment, facts=None, scan_known: bool = True) -> None:
    """:func:`validate_settings`, and the region the objective or the threat needs."""
    if experiment.region is None:
        kind = experiment.objective.kind
        _require(kind == "untargeted", f"the {kind!r} objective needs a region", NEEDS_REGION)
        _require(experiment.threat.domain != "patch", "a patch threat needs a region", NEEDS_REGION)
    validate_settings(experiment, facts, scan_known)


# --- the output folder ---------------------------------------------------------------------------------------
def check_output_folder(out: str | os.PathLike, source_path: str | None = None) -> None:
    """A folder the outputs may go to: not a file, not the input, not inside an input series folder, empty or
    new, and writable (tried with a temporary file, which is removed)."""
    out = Path(out)
    resolved = out.resolve()
    if source_path:
        source = Path(source_path).resolve()
        _require(resolved != source, f"{out}: that is the input; choose another output folder")
        _require(not (source.is_dir() and source in resolved.parents),
                 f"{out}: inside the input folder {source}; choose an output folder elsewhere, so that the series "
                 "stays as it was")
    _require(not out.exists() or out.is_dir(), f"{out}: a file is in the way; the output must be a folder")
    _require(not (out.is_dir() and any(out.iterdir())), f"{out}: output folder exists and is not empty")
    check_writable_folder(out)


def check_writable_folder(out: str | os.PathLike) -> None:
    """``out`` is (or can be made) a folder this process can write into: its nearest existing part is a folder
    where a temporary file can be made (and is removed again)."""
    out = Path(out)
    _require(not out.exists() or out.is_dir(), f"{out}: a file is in the way; the output must be a folder")
    existing = out.resolve()
    while not existing.exists():
        existing = existing.parent
    _require(existing.is_dir(), f"{out}: {existing} is a file, not a folder")
    _require(_writable(existing), f"{out}: cannot write into {existing} (read-only or no permission)")


def _writable(folder: Path) -> bool:
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        handle, name = tempfile.mkstemp(prefix=".halluview-probe-", dir=folder)
    except OSError:
        return False
    os.close(handle)
    os.unlink(name)
    return True
