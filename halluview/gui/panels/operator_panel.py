"""ACQUISITION: how the measurement is acquired, the forward operator A of y = A x (MRI undersampling and coils, CT
views, denoising), and its noise.

Only the rows that matter for the chosen kind are shown.
"""
from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QWidget

from ...core.experiment import DEFAULT_RECON
from ...core.physics.ct import ANGLE_KINDS
from ...core.physics.mri import MASKS
from ...core.physics.noise import WATER_PIXEL_OPTICAL_DEPTH
from ...core.recon.zoo import MODELS
from ..session import Session
from . import form

BASELINES = {"mri": "zero-filled", "ct": "fbp", "denoise": "identity"}
"""The operator's own baseline reconstruction (what "Zero-filled / FBP" means for each kind)."""

POISSON = {"ct": "poisson_transmission", "denoise": "poisson_image"}
"""Which Poisson model a kind uses (MRI noise is Gaussian)."""


def recon_fits(name: str, kind: str) -> bool:
    """Whether reconstruction ``name`` can reconstruct measurements of operator ``kind``."""
    if name in MODELS:
        return MODELS[name].modality == kind
    return name not in BASELINES.values() or name == BASELINES[kind]


class OperatorPanel(QGroupBox):
    """The acquisition settings (``session.experiment.operator``)."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.layout_ = layout = form.section(self, "Acquisition")
        self.kind = form.combo([("MRI", "mri"), ("CT", "ct"), ("Denoising", "denoise")],
                               "Which scanner the measurement is simulated for (the operator A of y = A x): MRI "
                               "(undersampled k-space), CT (a parallel-beam sinogram) or denoising (a noisy image).")
        form.add_row(layout, "Scan type", self.kind)

        self.acceleration = form.combo([(f"{a}×", float(a)) for a in (2, 4, 6, 8)],
                                       "How much faster than a full scan: 4× keeps about a quarter of the lines "
                                       "(the acceleration R).")
        self.center = form.spin(0.01, 0.5, 0.01, 3, tooltip="Share of the central (low-frequency) lines that are "
                                                              "always acquired (the centre fraction).")
        self.mask = form.combo([(m, m) for m in MASKS], "Which lines are skipped (the sampling mask, fastMRI's mask "
                                                        "types): at random, evenly spaced, or with magic "
                                                        "(conjugate-symmetric) offsets.")
        self.coils = form.spin(1, 16, tooltip="Number of receiver coils (1 = a single-coil scan).")
        self.mask_seed = form.spin(0, 2**31 - 1, tooltip="Changes which random lines are skipped (the mask's seed).")
        self.file_kspace = form.check("use the file's own k-space",
                                      "Attack the raw data stored in the file instead of simulating it.")
        form.add_row(layout, "Acceleration", self.acceleration)
        form.add_row(layout, "Centre kept", self.center)
        form.add_row(layout, "Line pattern", self.mask)
        form.add_row(layout, "Coils", self.coils)
        form.add_row(layout, "Pattern seed", self.mask_seed)
        layout.addRow(self.file_kspace)

        self.angles = form.combo([(a, a) for a in ANGLE_KINDS], "Full: all angles; sparse: fewer views; "
                                                                "limited: only part of the half circle.")
        self.n_angles = form.spin(1, 1440, tooltip="How many projections (views) the scanner takes.")
        self.max_angle = form.spin(1, 180, 5, 1, " °", "The arc covered by a limited-angle scan (its largest angle).")
        form.add_row(layout, "Views taken", self.angles)
        form.add_row(layout, "Number of views", self.n_angles)
        form.add_row(layout, "Arc covered", self.max_angle)

        self.noise = form.combo([], "Random noise added to the measurement before reconstruction.")
        self.sigma = form.spin(0.0, 100.0, 0.5, 2, " %", "Noise strength as a percentage of the signal's size (the "
                                                        "Gaussian noise's σ, relative).")
        self.flux = form.spin(10, 1e9, 1000, 0, " photons", "X-ray photons per detector reading: fewer means a "
                                                            "lower dose and more noise (the incident flux I₀).")
        self.peak = form.spin(0.1, 1e6, 10, 1, tooltip="Photon count of a pixel of value 1: fewer means more noise "
                                                       "(the Poisson peak).")
        self.noise_seed = form.spin(0, 2**31 - 1, tooltip="Changes the random noise draw.")
        form.add_row(layout, "Noise", self.noise)
        form.add_row(layout, "Noise level", self.sigma)
        form.add_row(layout, "X-ray dose", self.flux)
        form.add_row(layout, "Photon count", self.peak)
        form.add_row(layout, "Noise seed", self.noise_seed)

        self.kind.activated.connect(self._kind_chosen)
        self.acceleration.activated.connect(lambda: self._set(acceleration=self.acceleration.currentData()))
        self.mask.activated.connect(lambda: self._set(mask_type=self.mask.currentData()))
        self.angles.activated.connect(lambda: self._set(angles=self.angles.currentData()))
        self.center.valueChanged.connect(lambda v: self._set(center_fraction=v))
        self.coils.valueChanged.connect(lambda v: self._set(n_coils=v))
        self.mask_seed.valueChanged.connect(lambda v: self._set(mask_seed=v))
        self.file_kspace.toggled.connect(lambda on: self._set(use_file_kspace=on))
        self.n_angles.valueChanged.connect(lambda v: self._set(n_angles=v))
        self.max_angle.valueChanged.connect(lambda v: self._set(max_angle_deg=v))
        self.noise_seed.valueChanged.connect(lambda v: self._set(noise_seed=v))
        self.noise.activated.connect(self._noise_edited)
        for box in (self.sigma, self.flux, self.peak):
            box.valueChanged.connect(self._noise_edited)
        session.settingsChanged.connect(self.refresh)
        session.scanChanged.connect(self.refresh)
        self.refresh()

    # --- user -> session -----------------------------------------------------------------------------
    def _set(self, **changes) -> None:
        self.session.update(operator=changes)

    def _kind_chosen(self) -> None:
        """A new kind; the reconstruction follows when it cannot read this kind, and so does a Poisson noise."""
        kind, experiment = self.kind.currentData(), self.session.experiment
        sections = {"operator": {"kind": kind}}
        noise = experiment.operator.noise
        if noise and noise.get("kind", "").startswith("poisson") and noise["kind"] != POISSON.get(kind):
            sections["operator"]["noise"] = None
        if not recon_fits(experiment.recon.name, kind):
            sections["recon"] = {"name": DEFAULT_RECON[kind], "params": {}, "weights": None}
        self.session.update(**sections)

    def _noise_edited(self) -> None:
        kind, old = self.noise.currentData(), self.session.experiment.operator.noise or {}
        if kind is None:
            noise = None
        elif kind == "gaussian":
            relative = old.get("relative", True) if old.get("kind") == "gaussian" else True
            noise = {"kind": "gaussian", "sigma": self.sigma.value() / (100 if relative else 1), "relative": relative}
        elif kind == "poisson_transmission":
            noise = {"kind": kind, "incident_flux": self.flux.value(),
                     "mu_scale": old.get("mu_scale", WATER_PIXEL_OPTICAL_DEPTH)}
        else:
            noise = {"kind": kind, "peak": self.peak.value()}
        self._set(noise=noise)

    # --- session -> controls -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Copy ``session.experiment.operator`` into the controls (emits nothing) and show the kind's rows."""
        op = self.session.experiment.operator
        form.select_data(self.kind, op.kind)
        form.select_data(self.acceleration, float(op.acceleration))
        form.select_data(self.mask, op.mask_type)
        form.select_data(self.angles, op.angles)
        for box, value in ((self.center, op.center_fraction), (self.coils, op.n_coils),
                           (self.mask_seed, op.mask_seed), (self.n_angles, op.n_angles),
                           (self.max_angle, op.max_angle_deg), (self.noise_seed, op.noise_seed),
                           (self.file_kspace, op.use_file_kspace)):
            form.set_value(box, value)
        self._refresh_noise(op.kind, op.noise)
        scan = self.session.scan
        has_kspace = scan is not None and scan.kspace is not None
        mri, ct = op.kind == "mri", op.kind == "ct"
        form.show_rows(self.layout_, mri, self.acceleration, self.center, self.mask, self.coils, self.mask_seed)
        form.show_rows(self.layout_, mri and has_kspace, self.file_kspace)
        form.show_rows(self.layout_, ct, self.angles, self.n_angles)
        form.show_rows(self.layout_, ct and op.angles == "limited", self.max_angle)

    def _refresh_noise(self, kind: str, noise: dict | None) -> None:
        items = [("none", None), ("Gaussian", "gaussian")]
        if kind in POISSON:
            items.append(("Poisson", POISSON[kind]))
        with form.blocked(self.noise):
            self.noise.clear()
            for text, data in items:
                self.noise.addItem(text, data)
        current = (noise or {}).get("kind")
        form.select_data(self.noise, current if current != "none" else None)
        noise = noise or {}
        relative = noise.get("relative", True)  # the GUI writes relative σ; a loaded experiment may not
        self.sigma.setSuffix(" %" if relative else " (absolute)")
        form.set_value(self.sigma, noise.get("sigma", 0.01) * (100 if relative else 1))
        form.set_value(self.flux, noise.get("incident_flux", 1e5))
        form.set_value(self.peak, noise.get("peak", 100.0))
        form.show_rows(self.layout_, current == "gaussian", self.sigma)
        form.show_rows(self.layout_, current == "poisson_transmission", self.flux)
        form.show_rows(self.layout_, current == "poisson_image", self.peak)
        form.show_rows(self.layout_, current not in (None, "none"), self.noise_seed)
