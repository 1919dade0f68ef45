"""From an :class:`Experiment` to a ready :class:`AttackProblem` in three steps, so that a clean reconstruction can
be shown (the app's preview) and then attacked without being built again:

    measure(experiment, scan) -> Measurement             the measurement y (simulated, or the file's k-space)
    reconstruct(experiment, measurement) -> Reconstruction  the reconstruction module and f(y) on the device
    bind(experiment, reconstruction) -> AttackProblem      threat, objective, region, transfer surrogate

:func:`build_problem` is their composition (the CLI's and every sweep's entry).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from .attacks.objectives import Objective, lesion_target
from .attacks.regions import region_mask, region_on_grid
from .attacks.run import AttackProblem
from .attacks.threat import Threat
from .data_checks import check_gradient, check_image, check_measurement, checked_data_range, clean_reconstruction
from .errors import APP, CLI, NEEDS_REGION, ExperimentError
from .experiment import Experiment, OperatorConfig, ScanFacts
from .geometry import lesion_on_grid, working_shape
from .io.ismrmrd import recon_crop_size
from .physics.base import Operator
from .physics.factory import build_operator
from .physics.mri import MRIOperator, center_crop, sample_mask
from .physics.noise import noisy_measurement
from .recon.acceleration import accelerated
from .recon.config import ttt_settings
from .recon.factory import ReconConfig, build_reconstructor
from .recon.learned import UnetPostProcessing
from .recon.test_time import Progress, adapted_reconstruction, clean_scores
from .scan import Scan
from .units import unit_map
from .validation import source_label, validate_settings


def resolve_device(device: str) -> torch.device:
    """'auto' → CUDA when present, else CPU; anything else as torch reads it."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_source(experiment: Experiment) -> Scan:
    source = experiment.source
    if source.path:
        from .io import read_scan

        return read_scan(source.path, **source.choices)
    from .samples import load_sample

    return load_sample(source.demo or "brain")


def working_image(scan: Scan, index: int, size: int | None) -> np.ndarray:
    """The slice in the units the simulation uses (:mod:`halluview.core.units`: HU → attenuation relative to
    water, ≥ 0; anything else scaled to [0, 1]), at its own size, or resized (anti-aliased, aspect ratio kept) so
    that its longer side is ``size`` (:func:`~halluview.core.geometry.working_shape`)."""
    original = scan.slice_image(index)
    image = np.asarray(unit_map(original, scan.units).to_working(original.astype(np.float64)))
    if scan.units == "HU":
        image = np.clip(image, 0, None)
    elif not float(np.nanmax(original)) > float(np.nanmin(original)):
        image = np.zeros_like(image)
    shape = working_shape(image.shape, size)
    if shape != image.shape:
        from skimage.transform import resize

        image = resize(image, shape, anti_aliasing=True, preserve_range=True)
    return image.astype(np.float32)


def from_working_units(image: np.ndarray, scan: Scan, index: int) -> np.ndarray:
    """Inverse of :func:`working_image`'s intensity mapping (not of its resizing): back to the scan's units."""
    return np.asarray(unit_map(scan.slice_image(index), scan.units).to_scan(image), dtype=np.float32)


def derived_scan(scan: Scan, index: int, image: np.ndarray, description: str) -> Scan:
    """A one-slice scan holding a reconstruction of slice ``index`` in the scan's units and geometry, for the
    NIfTI / DICOM writers. Pixel spacing is rescaled when the reconstruction was resized."""
    original = scan.slice_image(index)
    volume = from_working_units(image, scan, index)[None]
    row_scale = original.shape[0] / image.shape[0]
    col_scale = original.shape[1] / image.shape[1]
    spacing = (scan.spacing_mm[0], scan.spacing_mm[1] * row_scale, scan.spacing_mm[2] * col_scale)
    meta = {**{k: v for k, v in scan.meta.items() if k not in ("warnings", "source_images")},
            "derived_from_slice": index, "description": description}
    if scan.meta.get("source_images"):  # the one image this slice came from
        meta["source_images"] = [scan.meta["source_images"][index]]
    return Scan(volume=volume, modality=scan.modality, units=scan.units, spacing_mm=spacing,
                orientation=scan.orientation, window=scan.window, meta=meta, source=scan.source,
                affine=slice_affine(scan.affine, index, row_scale, col_scale))


def slice_affine(affine: np.ndarray | None, index: int, row_scale: float = 1.0,
                 col_scale: float = 1.0) -> np.ndarray | None:
    """The (0, row, column) → mm affine of slice ``index`` of a volume with ``affine`` ((slice, row, column) → mm),
    on a grid resized by ``row_scale`` × ``col_scale`` (original pixels per new pixel): each new pixel's centre
    lands where its area's centre was, so the slice overlays its source in a viewer. None stays None."""
    if affine is None:
        return None
    grid = np.eye(4)
    grid[1, 1], grid[2, 2] = row_scale, col_scale
    grid[:3, 3] = [index, (row_scale - 1) / 2, (col_scale - 1) / 2]
    return np.asarray(affine, dtype=float) @ grid


@dataclass
class Measurement:
    op: Operator
    y: torch.Tensor
    x_true: torch.Tensor | None
    reference: torch.Tensor | None
    data_range: float | None = None
    crop_size: tuple[int, int] | None = None  # fastMRI files: reconstructions are shown at the recon size


class CroppedRecon(torch.nn.Module):
    """f(y) centre-cropped to the file's recon size (fastMRI evaluates at 320×320, not the encoded size)."""

    def __init__(self, recon: torch.nn.Module, size: tuple[int, int]):
        super().__init__()
        self.recon, self.size = recon, size

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return center_crop(self.recon(y), self.size)

    def config(self) -> dict:
        inner = self.recon.config() if hasattr(self.recon, "config") else {}
        return {**inner, "crop_size": list(self.size)}

    def __getattr__(self, name: str):
        """A refitted reconstruction's ``seed`` and ``with_seed`` pass through the crop."""
        if name in ("seed", "with_seed") and hasattr(self.recon, name):
            if name == "seed":
                return self.recon.seed
            return lambda seed: CroppedRecon(self.recon.with_seed(seed), self.size)
        return super().__getattr__(name)


def _crop(recon: torch.nn.Module, size: tuple[int, int] | None) -> torch.nn.Module:
    if size is None:
        return recon
    if isinstance(recon, UnetPostProcessing) and recon.crop_size is None:
        recon.crop_size = size  # fastMRI's U-Net crops its input, before the network
        return recon
    return CroppedRecon(recon, size)


def _simulate(config: OperatorConfig, image: np.ndarray) -> Measurement:
    x = torch.from_numpy(image)[None]
    op = build_operator(asdict(config), image.shape)
    with torch.no_grad():
        y = op(x)
        if config.noise is not None:
            y = noisy_measurement(op, y, config.noise, torch.Generator().manual_seed(config.noise_seed))
    return Measurement(op, y, x, x.clone())


def _from_file_kspace(config: OperatorConfig, scan: Scan, index: int) -> Measurement:
    """The file's own k-space, retrospectively undersampled as fastMRI's ``VarNetDataTransform`` does it: the
    configured mask (drawn as fastMRI draws it), zero outside the acquired band [padding_left, padding_right), and
    fastMRI's ``num_low_frequencies`` for the VarNet. Reconstructions are cropped as fastMRI crops them: to the
    header's recon size (else the reference's shape), or W × W when the k-space width W is smaller (FLAIR-203)."""
    kspace = torch.from_numpy(np.asarray(scan.kspace[index], dtype=np.complex64))
    kspace = kspace[None, None] if kspace.dim() == 2 else kspace[None]
    columns = kspace.shape[-1]
    mask, num_low = sample_mask(config.mask_type, columns, config.center_fraction, config.acceleration,
                                config.mask_seed)
    left, right = scan.meta.get("padding_left"), scan.meta.get("padding_right")
    if left is not None and right is not None:  # fastMRI: no samples outside the encoded band
        mask[:left], mask[right:] = False, False
    settings = {"acceleration": config.acceleration, "center_fraction": config.center_fraction,
                "mask_type": config.mask_type, "n_coils": int(kspace.shape[1]), "mask_seed": config.mask_seed,
                "kspace": "file"}
    kind = MRIOperator if kspace.shape[1] == 1 else _MultiCoilRaw
    op = kind(mask, None, settings, num_low)
    op.image_shape = tuple(kspace.shape[-2:])
    reference = None
    if scan.reference is not None:
        reference = torch.from_numpy(np.asarray(scan.reference[index], dtype=np.float32))[None]
    recon_size = scan.meta.get("recon_size")
    if recon_size is None and reference is not None:
        recon_size = tuple(reference.shape[-2:])
    crop = recon_crop_size(recon_size, columns) if recon_size is not None else None
    return Measurement(op, kspace * op.mask, None, reference, scan.meta.get("max"), crop)


class _MultiCoilRaw(MRIOperator):
    """Raw multi-coil k-space with unknown sensitivities: the baseline (RSS) is defined, A and A* are not."""

    def forward(self, x):
        raise ValueError("this reconstruction needs coil sensitivities, which the file does not provide; "
                         "attack a learned or zero-filled reconstruction, or use a single-coil file")

    adjoint = forward


def measure(experiment: Experiment, scan: Scan) -> Measurement:
    """The measurement y (simulated from the slice, or the file's own k-space), checked: a constant slice, no
    sampled k-space column, no coil or a broken intensity range are user errors."""
    index = experiment.source.slice if experiment.source.slice is not None else scan.n_slices // 2
    config, where = experiment.operator, source_label(experiment.source)
    if config.kind == "mri" and scan.kspace is not None and config.use_file_kspace:
        if len(scan.kspace.shape) == 4 and scan.kspace.shape[1] == 0:
            raise ExperimentError(f"{where}: its k-space holds no coil (shape {tuple(scan.kspace.shape)})")
        m = _from_file_kspace(config, scan, index)
        m = replace(m, data_range=checked_data_range(m.data_range, where))
    else:
        check_image(scan.slice_image(index), where, index)
        m = _simulate(config, working_image(scan, index, experiment.source.image_size))
    check_measurement(m.y, m.op, where, index)
    return m


def _threat(experiment: Experiment, m: Reconstruction, region: torch.Tensor | None) -> Threat:
    config = experiment.threat
    if config.domain == "measurement":
        return Threat(config, m.y, m.op.measurement_mask(m.y))
    if m.x_true is None:
        raise ExperimentError("image-domain and patch threats need the imaged object; this file only has k-space: "
                              "use the measurement domain")
    x = m.x_true.to(torch.complex64) if m.op.complex_image else m.x_true
    if config.domain == "image":
        return Threat(config, x)
    if region is None:
        raise ExperimentError("a patch threat needs a region", NEEDS_REGION)
    area = int(region.sum())
    if config.patch_area_px is not None and area > config.patch_area_px:
        raise ExperimentError(f"the patch covers {area} pixels, more than its budget of {config.patch_area_px}")
    return Threat(config, x, region)


def reconstruction_key(experiment: Experiment) -> tuple:
    """What a clean reconstruction depends on: the image (source and slice), the acquisition, the reconstruction
    and the device. Two experiments with the same key share one :class:`Reconstruction`."""
    return (repr(experiment.source), repr(experiment.operator), repr(experiment.recon), experiment.device)


@dataclass
class Reconstruction:
    """The measurement and its clean reconstruction f(y), on their device: what a preview shows and a run binds.

    Attributes
    ----------
    key : tuple
        :func:`reconstruction_key` of the experiment it was made for.
    op, recon : the operator and the reconstruction module (centre-cropped for fastMRI files).
    y : Tensor (B, ...)
        The clean measurement.
    clean : Tensor (B, H, W)
        f(y), computed once.
    x_true, reference : Tensor (B, H, W) or None
        The imaged object (simulated acquisitions) and the image "vs reference" metrics use (cropped to f(y)).
    data_range : float or None
        fastMRI files: attrs['max'] for SSIM / PSNR against the reference.
    crop_size : tuple or None
        fastMRI files: the recon size reconstructions are cropped to.
    config : dict
        The experiment it was made for (its ``to_dict()``).
    seconds : float
        How long f(y) took (a run's time estimate starts from it).
    """

    key: tuple
    op: Operator
    recon: torch.nn.Module
    y: torch.Tensor
    clean: torch.Tensor
    x_true: torch.Tensor | None
    reference: torch.Tensor | None
    data_range: float | None
    crop_size: tuple[int, int] | None
    config: dict
    seconds: float = 0.0


def reconstruct(experiment: Experiment, m: Measurement, progress: Progress | None = None) -> Reconstruction:
    """Build the reconstruction around the measurement's operator on the experiment's device and compute f(y)
    (checked: a failing, NaN, all-zero or too small image is an ExperimentError). With test-time training the
    network is first adapted to y (``progress(step, steps, loss)`` after each step) and the adapted, frozen copy is
    the reconstruction; its record holds the clean SSIM / PSNR before and after."""
    device = resolve_device(experiment.device)
    recon = _crop(build_reconstructor(experiment.recon, m.op.to(device)), m.crop_size)
    y = m.y.to(device)
    label = recon_label(experiment.recon)
    reference = None if m.reference is None else m.reference.to(device)
    settings = ttt_settings(experiment.recon)
    if settings is not None:
        before = clean_reconstruction(recon, y, label)
        recon = adapted_reconstruction(recon, m.op, y, settings, label, progress)
    started = time.perf_counter()
    clean = clean_reconstruction(recon, y, label)
    seconds = time.perf_counter() - started
    reference = None if reference is None else center_crop(reference, clean.shape[-2:])
    if settings is not None:
        recon.record.clean = {"before": clean_scores(before, reference, m.data_range),
                              "after": clean_scores(clean, reference, m.data_range)}
    x_true = None if m.x_true is None else m.x_true.to(device)
    return Reconstruction(reconstruction_key(experiment), m.op, recon, y, clean, x_true, reference, m.data_range,
                          m.crop_size, experiment.to_dict(), seconds)


def bind(experiment: Experiment, r: Reconstruction) -> AttackProblem:
    """The attack on a clean reconstruction: the threat, the objective and the region bound to it, and a transfer
    surrogate's reconstruction if the experiment names one; one gradient of the attacked model is checked.
    ``r`` must have been made for this experiment's reconstruction (same :func:`reconstruction_key`)."""
    if r.key != reconstruction_key(experiment):
        raise ValueError("this reconstruction was made for another image, acquisition, model or device")
    grid = tuple(r.clean.shape[-2:])
    facts = experiment.scan_facts
    recorded = experiment  # what the run records: regions and lesions in the scan's own pixels
    if experiment.source.image_size is not None and facts is not None and tuple(facts.shape) != grid:
        mask = region_on_grid(experiment.region, tuple(facts.shape), grid)  # a chosen working size maps them
        lesion = lesion_on_grid(experiment.objective.lesion, tuple(facts.shape), grid)
        experiment = replace(experiment, objective=replace(experiment.objective, lesion=lesion))
    else:
        mask = region_mask(experiment.region, grid)
    region = None if mask is None else torch.from_numpy(mask).to(r.clean.device)
    if experiment.segments:  # a label map that does not fit this slice is refused before the attack, not after it
        from .quality.segments import load_segments

        load_segments(experiment.segments, grid, experiment.source.slice or 0)
    threat = _threat(experiment, r, region)
    common = dict(op=r.op, y=r.y, threat=threat, optimizer=experiment.optimizer, x_true=r.x_true,
                  reference=r.reference, region=region, data_range=r.data_range, seed=experiment.seed,
                  image_every=experiment.image_every, noise_draws=experiment.noise_draws, config=recorded.to_dict())
    surrogate = None
    if experiment.surrogate:  # a transfer attack: the gradients come from another reconstruction
        surrogate_recon = _crop(build_reconstructor(ReconConfig(name=experiment.surrogate), r.op), r.crop_size)
        surrogate_clean = clean_reconstruction(surrogate_recon, r.y, experiment.surrogate)
        surrogate = AttackProblem(recon=surrogate_recon, clean=surrogate_clean,
                                  objective=_objective(experiment, surrogate_clean, mask, region, r.reference),
                                  **common)
    recon = accelerated(r.recon, experiment.compute)  # bf16 / compile / channels-last; recon.exact: fp32
    attacked = surrogate.recon if surrogate is not None else recon
    check_gradient(attacked, r.y, experiment.surrogate or recon_label(experiment.recon))
    return AttackProblem(recon=recon, clean=r.clean,
                         objective=_objective(experiment, r.clean, mask, region, r.reference), surrogate=surrogate,
                         **common)


def clean_preview(experiment: Experiment, scan: Scan, progress: Progress | None = None) -> Reconstruction:
    """What the app shows before any attack: measure and reconstruct, nothing bound (no threat, no objective, no
    region). The settings are checked against the scan first, as :func:`build_problem` checks them.
    ``progress``: test-time training's steps (see :func:`reconstruct`)."""
    validate_settings(experiment, ScanFacts.of(scan))
    return reconstruct(experiment, measure(experiment, scan), progress)


def build_problem(experiment: Experiment, scan: Scan | None = None,
                  reuse: Reconstruction | None = None) -> AttackProblem:
    """Load (unless ``scan`` is given), measure, reconstruct and bind: ``bind(reconstruct(measure(...)))``.

    Every setting is validated first, then against the scan, then the clean reconstruction and one gradient of
    the attacked model are checked: bad input is an ExperimentError before the attack loop starts. ``reuse``: a
    :class:`Reconstruction` already on hand (the app's preview); it is used when it was made for this experiment's
    image, acquisition, reconstruction and device, and rebuilt otherwise.
    """
    experiment.validate()
    scan = scan if scan is not None else load_source(experiment)
    experiment.validate(ScanFacts.of(scan))
    if reuse is None or reuse.key != reconstruction_key(experiment):
        reuse = reconstruct(experiment, measure(experiment, scan))
    return bind(experiment, reuse)


def recon_label(recon: ReconConfig) -> str:
    """The reconstruction as a message names it: "tv", or "torchscript (model.pt)" for a user's file."""
    return f"{recon.name} ({Path(recon.weights).name})" if recon.weights else recon.name


def _objective(experiment: Experiment, clean: torch.Tensor, mask: np.ndarray | None, region: torch.Tensor | None,
               reference: torch.Tensor | None) -> Objective:
    """The objective bound to one reconstruction's clean image (a lesion is drawn onto that image)."""
    target, scored = None, region
    config = experiment.objective
    if config.kind in ("insert", "remove"):
        target_image, scored_mask = lesion_target(clean[0].cpu().numpy(), mask, config)
        target = torch.from_numpy(target_image)[None].to(clean.device)
        scored = torch.from_numpy(scored_mask).to(clean.device)
    elif config.kind == "untargeted" and config.against == "reference":
        if reference is None:
            raise ExperimentError("this scan has no reference image to attack against",
                                  {CLI: "use --against clean", APP: "measure the change against the clean "
                                                                    "reconstruction"})
        target = reference
    return Objective(config, clean, scored, target)
