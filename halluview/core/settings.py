"""The typed settings an experiment is made of, shared by the experiment, the model zoo, validation and the session.

A leaf module (it imports only :mod:`halluview.core.errors`, and the noise models on first use), so that
:mod:`~halluview.core.experiment`, :mod:`~halluview.core.recon.zoo`, :mod:`~halluview.core.validation` and
:mod:`~halluview.core.session` can all use these types without importing each other.

The experiment records the free-form parts (noise, lesion) as plain dicts in its report, so that old reports keep
reading; :class:`NoiseSettings` and :class:`LesionSettings` are the typed, checked form that the session passes
around, each with ``to_dict()`` / ``from_dict()`` for that record. Their checks are the only ones: validation calls
them too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

from .errors import NEEDS_LINE_ENDS, ExperimentError

OPERATOR_KINDS = ("mri", "ct", "denoise")


@dataclass
class SourceConfig:
    """Where the image comes from: a built-in example (``demo``) or a file (``path``), and which slice.

    ``image_size``: the working size, chosen for speed: the slice is resized (anti-aliased, aspect ratio kept) so
    that its longer side has this many pixels. None (the default): the slice's own size (:mod:`..geometry`).
    """

    demo: str | None = "brain"
    path: str | None = None
    slice: int | None = None
    choices: dict = field(default_factory=dict)
    image_size: int | None = None


@dataclass
class OperatorConfig:
    """The acquisition: MRI (acceleration, centre fraction, mask, coils), CT (angles) or denoising; noise.

    ``noise``: None, or :meth:`NoiseSettings.to_dict` of its noise model: {"kind": "gaussian", "sigma": s,
    "relative": bool}, {"kind": "poisson_transmission", "incident_flux": I0, "mu_scale": m} (CT) or
    {"kind": "poisson_image", "peak": p} (denoising).
    ``use_file_kspace``: attack the file's own k-space when it has one (fastMRI HDF5).
    """

    kind: str = "mri"
    acceleration: float = 4.0
    center_fraction: float = 0.08
    mask_type: str = "random"
    n_coils: int = 1
    mask_seed: int = 0
    angles: str = "full"
    n_angles: int = 180
    max_angle_deg: float = 180.0
    noise: dict | None = None
    noise_seed: int = 0
    use_file_kspace: bool = True

    def __post_init__(self):
        if self.kind not in OPERATOR_KINDS:
            raise ValueError(f"operator must be one of {OPERATOR_KINDS}, not {self.kind!r}")


@dataclass
class ScanFacts:
    """What the experiment was built for, read from the opened scan (never chosen): the report's record of it.

    Attributes
    ----------
    source : str
        File path, or "demo:<name>" for a built-in example.
    modality : str
        "CT", "MR", "OT" (other / unknown) or "PHANTOM".
    units : str
        Unit of the voxel values ("HU", "a.u.", ...).
    n_slices : int
        Slices in the opened series / volume.
    shape : tuple[int, int]
        Rows × columns of one slice as the file shows it, in pixels (before any resizing).
    kspace_coils : int or None
        Raw k-space in the file: its number of coils (1: single-coil); None when the file holds none.
    spacing_mm : tuple[float, float]
        In-plane pixel spacing (row, column) in mm; empty in reports written before it was recorded.
    """

    source: str = ""
    modality: str = "OT"
    units: str = "a.u."
    n_slices: int = 1
    shape: tuple = (0, 0)
    kspace_coils: int | None = None
    spacing_mm: tuple = ()

    def __post_init__(self):
        self.shape = tuple(int(n) for n in self.shape)  # JSON gives a list back
        self.spacing_mm = tuple(float(s) for s in self.spacing_mm)

    @classmethod
    def of(cls, scan) -> ScanFacts:
        """The facts of a loaded :class:`~halluview.core.scan.Scan` (shapes only: nothing is read)."""
        coils = None
        if scan.kspace is not None:
            shape = tuple(scan.kspace.shape)
            coils = int(shape[1]) if len(shape) == 4 else 1
        return cls(source=str(scan.source), modality=str(scan.modality), units=str(scan.units),
                   n_slices=int(scan.n_slices), shape=tuple(scan.volume.shape[-2:]), kspace_coils=coils,
                   spacing_mm=tuple(float(s) for s in scan.spacing_mm[1:]))


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _require(condition: bool, message: str, hints: dict | None = None) -> None:
    if not condition:
        raise ExperimentError(message, hints)


# --- noise ---------------------------------------------------------------------------------------------------
NOISE_FITS = {"gaussian": ("mri", "ct", "denoise"), "poisson_transmission": ("ct",), "poisson_image": ("denoise",)}
"""Each noise model and the acquisitions it applies to."""


@dataclass(frozen=True)
class NoiseSettings:
    """A measurement-noise model, typed and checked (the operator section records :meth:`to_dict`).

    Attributes
    ----------
    kind : "none", "gaussian", "poisson_transmission" (CT) or "poisson_image" (denoising)
    sigma : float or None
        Gaussian: the standard deviation; a fraction of the measurement's RMS when ``relative``.
    relative : bool or None
        Gaussian: whether ``sigma`` is relative (None: the noise model's default).
    incident_flux, mu_scale : float or None
        Poisson transmission (CT): photons per detector bin, and optical depth per unit (None: its default).
    peak : float or None
        Poisson image noise: the photon count of an image value of 1.

    Unset parameters take the noise model's own defaults (:mod:`halluview.core.physics.noise`): none are written here.
    """

    kind: str = "none"
    sigma: float | None = None
    relative: bool | None = None
    incident_flux: float | None = None
    mu_scale: float | None = None
    peak: float | None = None

    def __post_init__(self):
        check_noise(self.to_dict(), None)

    def to_dict(self) -> dict | None:
        """The operator section's ``noise`` entry: None for no noise, else the set parameters and the kind."""
        if self.kind == "none":
            return None
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)
                                      if f.name != "kind" and getattr(self, f.name) is not None}}

    @classmethod
    def from_dict(cls, noise: dict | None) -> NoiseSettings:
        """The typed form of an operator's ``noise`` entry (None or {"kind": "none"}: no noise); checked."""
        if not noise:
            return cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(noise) - known)
        _require(not unknown, f"unknown noise settings: {', '.join(unknown)}")
        return cls(**noise)


def check_noise(noise: dict | None, kind: str | None) -> None:
    """A noise model that exists, suits the acquisition ``kind`` (None: not known yet) and has finite, positive
    parameters."""
    from .physics.noise import make_noise

    if noise is None or noise.get("kind") == "none":
        return
    model = noise.get("kind")
    _require(model in NOISE_FITS, f"unknown noise {model!r}; choose none, gaussian, poisson (CT) or poisson-image")
    if kind is not None:
        _require(kind in NOISE_FITS[model], f"{model} noise does not apply to {kind.upper()} measurements")
    numbers = {k: v for k, v in noise.items() if k not in ("kind", "relative")}
    _require(all(_finite(v) for v in numbers.values()), f"noise parameters must be finite numbers, not {numbers}")
    try:
        make_noise(noise)
    except (TypeError, ValueError) as err:
        raise ExperimentError(f"noise {noise}: {err}") from None


# --- the inserted lesion -------------------------------------------------------------------------------------
LESION_SHAPES = ("disc", "line")
_POINTS = ("center_xy", "start_xy", "end_xy")


@dataclass(frozen=True)
class LesionSettings:
    """The lesion an insert objective paints into the clean reconstruction, typed and checked.

    Attributes
    ----------
    shape : "disc" or "line"
    intensity : float or None
        In the image's working units (see :mod:`halluview.core.units`); None: automatic, as bright as the clean
        image's brightest 1 %.
    center_xy, radius_px : the disc's centre (x, y pixels; None: the region's centre) and radius (None: from the
        region's size).
    start_xy, end_xy, width_px : the line's end points (x, y pixels) and width (None: the lesion's default).
    """

    shape: str = "disc"
    intensity: float | None = None
    center_xy: tuple[float, float] | None = None
    radius_px: float | None = None
    start_xy: tuple[float, float] | None = None
    end_xy: tuple[float, float] | None = None
    width_px: float | None = None

    def __post_init__(self):
        _require(self.shape in LESION_SHAPES, f"lesion must be disc or line, not {self.shape!r}")
        _require(self.intensity is None or _finite(self.intensity),
                 f"lesion intensity must be a finite number, not {self.intensity}")
        for key in ("radius_px", "width_px"):
            value = getattr(self, key)
            _require(value is None or (_finite(value) and value > 0), f"lesion {key} must be positive, not {value}")
        for key in _POINTS:
            point = getattr(self, key)
            _require(point is None or (isinstance(point, (list, tuple)) and len(point) == 2
                                       and all(_finite(v) for v in point)),
                     f"lesion {key} must be two numbers (x, y in pixels), not {point}")
            if point is not None:
                object.__setattr__(self, key, tuple(float(v) for v in point))

    def to_dict(self) -> dict:
        """The objective section's ``lesion`` entry: the shape and every parameter that is set (points as lists)."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        return {k: list(v) if k in _POINTS else v for k, v in values.items()}

    @classmethod
    def from_dict(cls, lesion: dict | None) -> LesionSettings:
        """The typed form of an objective's ``lesion`` entry ({}: an automatic disc); checked."""
        lesion = dict(lesion or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(lesion) - known)
        _require(not unknown, f"unknown lesion settings: {', '.join(unknown)}")
        return cls(**lesion)

    def check_drawable(self, objective_kind: str) -> None:
        """An inserted line needs both of its end points."""
        if self.shape == "line" and objective_kind == "insert":
            _require(self.start_xy is not None and self.end_xy is not None, "a line lesion needs its end points",
                     NEEDS_LINE_ENDS)

    def for_new_scan(self, old_units: str | None, new_units: str) -> LesionSettings:
        """What of this lesion still holds on another scan: positions and sizes were drawn on the old image and go
        (a line without its end points becomes the automatic disc); an intensity stays only when both scans are in
        HU, whose working units are one fixed mapping; in any other units it goes back to automatic (the demo's
        1.0 is the brightest tissue of a [0, 1] phantom, but water on a head CT)."""
        keep = self.intensity if old_units == "HU" and new_units == "HU" else None
        return LesionSettings(intensity=keep) if self.shape == "line" else replace(
            self, intensity=keep, center_xy=None, radius_px=None)


# --- the grey window -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WindowSettings:
    """A display window in the scan's units (HU for CT): its centre (level) and width, both finite, width > 0."""

    centre: float
    width: float

    def __post_init__(self):
        _require(_finite(self.centre) and _finite(self.width) and self.width > 0,
                 f"a window needs a finite centre and a positive width, not {self.centre}, {self.width}")

    @property
    def low(self) -> float:
        return self.centre - self.width / 2

    @property
    def high(self) -> float:
        return self.centre + self.width / 2

    @classmethod
    def of_scan(cls, scan) -> WindowSettings | None:
        """The scan's own window (from its file, or a built-in example's), None when it has none or its file's
        makes no sense (a zero or non-finite width)."""
        if scan is None or scan.window is None:
            return None
        try:
            return cls(*(float(v) for v in scan.window))
        except (ExperimentError, TypeError, ValueError):
            return None
