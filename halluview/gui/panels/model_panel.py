"""MODEL CARD: which reconstruction is attacked (built-in model, classical method or a checkpoint) and its card.

A user's checkpoint is checked by the core before it is selected (:func:`inspect_checkpoint`: the network and its
sizes are read from the weights, so nothing about it is asked): a file that would not load is reported in a dialog
and the previous reconstruction stays selected. A file holding pickled objects is loaded only after the user
allows it; a saved session that names one comes back as a session error, and the panel then asks too.
"""
from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QGroupBox, QLabel, QMessageBox, QWidget

from ...core.recon.architectures import inspect_checkpoint
from ...core.recon.card_words import card_lines
from ...core.recon.checkpoints import CheckpointError
from ...core.recon.config import TTT_MAX_STEPS, TTTSettings
from ...core.recon.factory import PARAM_DEFAULTS, resolved_params
from ...core.recon.zoo import MODELS
from ..session import Session
from . import form
from .operator_panel import BASELINES

BASELINE, LOAD = "baseline", "load"
CLASSICAL = {
    "tv": "Total variation: prefers piecewise-constant images (a classical compressed-sensing method).",
    "wavelet": "Wavelet sparsity: prefers images with few large wavelet coefficients (classical).",
}
PICKLE_REFUSAL = "pickled Python objects"  # the phrase core.recon.checkpoints uses when it refuses a file


class ModelPanel(QGroupBox):
    """The reconstruction picker, its parameters and its model card.

    Signals
    -------
    errorRaised(str, str) : message and details for the main window's error dialog.
    """

    errorRaised = Signal(str, str)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.described: dict[str, str] = {}  # checkpoint path -> what it holds, e.g. "fastMRI U-Net, 16 channels, …"
        self.layout_ = layout = form.section(self, "Model card")
        self.picker = form.combo([], "The reconstruction method under attack.")
        self.picker.setSizeAdjustPolicy(self.picker.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.picker.setMinimumContentsLength(16)
        for name, entry in MODELS.items():
            self.picker.addItem(entry.title, name)
            self.picker.setItemData(self.picker.count() - 1, entry.title, Qt.ToolTipRole)
        self.picker.insertSeparator(self.picker.count())
        self.picker.addItem("Zero-filled / FBP (baseline)", BASELINE)
        self.picker.addItem("TV", "tv")
        self.picker.addItem("Wavelet", "wavelet")
        self.picker.insertSeparator(self.picker.count())
        self.picker.addItem("Checkpoint", "checkpoint")
        self.picker.addItem("Load checkpoint…", LOAD)
        form.add_row(layout, "Reconstruction", self.picker,
                     "The method that turns the measurement into an image: the reconstruction f(y) under attack.")

        self.surrogate = form.combo([("Directly", None)], "Directly: the perturbation is optimised on this "
                                    "reconstruction. Otherwise a transfer attack: it is optimised on another model "
                                    "(a surrogate), then this reconstruction's response is shown at the end. For "
                                    "methods too slow to attack directly.")
        self.surrogate.setSizeAdjustPolicy(self.picker.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.surrogate.setMinimumContentsLength(16)
        for name, entry in MODELS.items():
            self.surrogate.addItem(f"Transfer from {name}", name)
            self.surrogate.setItemData(self.surrogate.count() - 1, entry.title, Qt.ToolTipRole)
        form.add_row(layout, "Attacked via", self.surrogate)

        self.lam = form.spin(0.0, 10.0, 0.001, 4, tooltip="How strongly the method smooths: larger is smoother.")
        self.iterations = form.spin(1, 10000, 10, tooltip="How long the method works on each image.")
        self.threshold = form.spin(0.0, 10.0, 0.005, 4, tooltip="Wavelet coefficients below this are set to zero: "
                                                                 "larger removes more detail and noise.")
        form.add_row(layout, "TV λ", self.lam)
        form.add_row(layout, "Iterations", self.iterations)
        form.add_row(layout, "Threshold τ", self.threshold)
        self.sampling_steps = form.spin(1, 1000, 10, tooltip="How many denoising steps the diffusion model takes "
                                        "for each image: more steps give a cleaner image and take proportionally "
                                        "longer (its card lists what each setting scored). A direct attack "
                                        "repeats them at every attack step: use few (about 10) for it.")
        form.add_row(layout, "Sampling steps", self.sampling_steps)

        self.adapt = form.check("Adapt to this scan first (test-time training)",
                                "Before reconstructing, the network is fine-tuned on this scan's own measurement, "
                                "so that its image agrees better with what the scanner recorded (Darestani, Liu & "
                                "Heckel 2022). A copy is tuned: the model's own weights stay as they are. The tuned "
                                "network is the one attacked; at the end it is also tuned afresh on the attacked "
                                "measurement, as a scanner using this would do.")
        layout.addRow(self.adapt)
        self.adapt_steps = form.spin(1, TTT_MAX_STEPS, 5, tooltip="How many tuning steps: more fits this scan more "
                                                                  "closely, and takes longer.")
        self.adapt_steps.setValue(TTTSettings().steps)
        form.add_row(layout, "Tuning steps", self.adapt_steps)
        self.adapt_status = QLabel()
        self.adapt_status.setToolTip("How far the tuning has got, and how far the image still is from the measured "
                                     "data (the self-supervised loss: smaller fits better).")
        layout.addRow(self.adapt_status)

        self.card = QLabel()
        self.card.setWordWrap(True)
        self.card.setTextFormat(Qt.RichText)
        self.card.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.card.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.card.setToolTip("What this reconstruction is, what it learned from, and how good it is without attack.")
        self.card.setStyleSheet("color: #c8c8c8;")
        layout.addRow(self.card)

        self.picker.activated.connect(self._picked)
        self.surrogate.activated.connect(lambda i: self.session.update(surrogate=self.surrogate.itemData(i)))
        self.lam.valueChanged.connect(lambda v: self._param("lam", v))
        self.iterations.valueChanged.connect(lambda v: self._param("n_iter", v))
        self.threshold.valueChanged.connect(lambda v: self._param("threshold", v))
        self.sampling_steps.valueChanged.connect(lambda v: self._param("sampling_steps", v))
        self.adapt.toggled.connect(lambda _: self._adapt_changed())
        self.adapt_steps.valueChanged.connect(lambda _: self._adapt_changed())
        session.previewReady.connect(lambda _: self.adapt_status.clear())
        session.adaptProgress.connect(self.show_adaptation)
        session.settingsChanged.connect(self.refresh)
        session.errorOccurred.connect(self._on_error)
        self.refresh()

    # --- user -> session -----------------------------------------------------------------------------
    def _picked(self, index: int) -> None:
        data = self.picker.itemData(index)
        if data == LOAD:
            path, _ = QFileDialog.getOpenFileName(self, "Load a reconstruction checkpoint", "",
                                                  "PyTorch checkpoints (*.pt *.pth *.ckpt);;All files (*)")
            if path:
                self.load_checkpoint(path)
            else:
                self.refresh()  # cancelled: show the current reconstruction again
            return
        if data == "checkpoint":  # the loaded checkpoint again (the item is disabled until one is loaded)
            return
        name = BASELINES[self.session.experiment.operator.kind] if data == BASELINE else data
        self.session.update(recon={"name": name, "params": {}, "weights": None, "allow_pickle": False})

    def load_checkpoint(self, path: str, allow_pickle: bool = False) -> bool:
        """Attack the fastMRI U-Net or E2E-VarNet checkpoint at ``path``, whose architecture is read from its
        weights. A file that would not load is reported with ``errorRaised`` and the reconstruction on screen stays
        selected. Returns whether the checkpoint was selected."""
        try:
            found = inspect_checkpoint(path, allow_pickle)
        except CheckpointError as err:
            if PICKLE_REFUSAL in err.reason and not allow_pickle:
                if self.confirm_allow_pickle(path):
                    return self.load_checkpoint(path, allow_pickle=True)
            else:
                self.errorRaised.emit(str(err), "")
            self.refresh()  # the picker shows the reconstruction that stands, not the file that failed
            return False
        self.described[str(path)] = found.describe()
        # The architecture goes into the settings (as --arch would), so a multi-coil VarNet is checked against
        # the acquisition before it is selected; its sizes stay the file's own.
        return self.session.update(recon={"name": "checkpoint", "weights": str(path), "params": {"arch": found.arch},
                                          "allow_pickle": bool(allow_pickle)})

    def _param(self, key: str, value: float) -> None:
        params = dict(self.session.experiment.recon.params, **{key: value})
        self.session.update(recon={"params": params})

    def _adapt_changed(self) -> None:
        ttt = {**TTTSettings().to_dict(), "steps": self.adapt_steps.value()} if self.adapt.isChecked() else None
        if ttt != self.session.experiment.recon.ttt:
            self.session.update(recon={"ttt": ttt})

    def show_adaptation(self, step: int, steps: int, loss: float) -> None:
        """Test-time training's progress (main thread): "tuning to this scan: step 5 of 20, loss 0.0012"."""
        self.adapt_status.setText(f"tuning to this scan: step {step} of {steps}, loss {loss:.4g}")

    def _on_error(self, message: str, details: str) -> None:
        recon = self.session.experiment.recon
        if recon.name != "checkpoint" or recon.allow_pickle or PICKLE_REFUSAL not in message:
            return
        if self.confirm_allow_pickle(recon.weights):
            self.load_checkpoint(recon.weights, allow_pickle=True)

    def confirm_allow_pickle(self, path: str) -> bool:
        """Ask whether to load a checkpoint that can run code (only for files from a trusted source)."""
        answer = QMessageBox.warning(
            self, "Allow this checkpoint?",
            f"{Path(path).name} holds pickled Python objects, not just weights. Loading it can run code on this "
            "computer.\n\nLoad it only if you trust where it came from. Load it anyway?",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer == QMessageBox.Yes

    # --- session -> controls -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Copy ``session.experiment.recon`` into the controls (emits nothing) and show its card."""
        experiment = self.session.experiment
        recon, kind = experiment.recon, experiment.operator.kind
        model = self.picker.model()
        for i in range(self.picker.count()):
            name = self.picker.itemData(i)
            if name in MODELS:
                model.item(i).setEnabled(MODELS[name].modality == kind)
        checkpoint = self.picker.findData("checkpoint")
        self.picker.setItemText(checkpoint, f"Checkpoint: {Path(recon.weights).name}" if recon.weights
                                else "Checkpoint (none loaded)")
        model.item(checkpoint).setEnabled(recon.weights is not None)
        form.select_data(self.picker, BASELINE if recon.name in BASELINES.values() else recon.name)
        surrogates = self.surrogate.model()
        for i in range(1, self.surrogate.count()):
            name = self.surrogate.itemData(i)
            surrogates.item(i).setEnabled(MODELS[name].modality == kind and name != recon.name)
        form.select_data(self.surrogate, experiment.surrogate)
        params = resolved_params(recon.name, recon.params)  # the defaults are the core's, written once
        form.set_value(self.lam, float(params.get("lam", PARAM_DEFAULTS["tv"]["lam"])))
        form.set_value(self.iterations, int(params.get("n_iter", PARAM_DEFAULTS["tv"]["n_iter"])))
        form.set_value(self.threshold, float(params.get("threshold", PARAM_DEFAULTS["wavelet"]["threshold"])))
        form.show_rows(self.layout_, recon.name == "tv", self.lam)
        form.show_rows(self.layout_, recon.name in ("tv", "wavelet"), self.iterations)
        form.show_rows(self.layout_, recon.name == "wavelet", self.threshold)
        if "sampling_steps" in params:
            form.set_value(self.sampling_steps, int(params["sampling_steps"]))
        form.show_rows(self.layout_, "sampling_steps" in params, self.sampling_steps)
        ttt = recon.ttt or {}
        form.set_value(self.adapt, bool(ttt))
        if ttt:  # off, the box keeps the user's last number
            form.set_value(self.adapt_steps, int(ttt["steps"]))
        adaptable = adaptable_reconstruction(recon.name, kind)
        form.show_rows(self.layout_, adaptable, self.adapt)
        form.show_rows(self.layout_, adaptable and bool(ttt), self.adapt_steps)
        self.card.setText(card_html(recon.name, recon.weights, self.described.get(recon.weights or "")))


def adaptable_reconstruction(name: str, kind: str) -> bool:
    """Whether test-time training is offered: a network with learned weights, and a measurement that is not the
    image itself (the core refuses the rest with its reasons)."""
    entry = MODELS.get(name)
    network = name in ("checkpoint", "torchscript") or (entry is not None and entry.trainable)
    data_consistent = entry is not None and entry.extra.get("trainer") == "diffusion"  # keeps every sample already
    return network and not data_consistent and kind != "denoise"


def _breakable(text: str) -> str:
    """Long file names (mni_icbm152_t1_…nii.gz) may break after "_" and "/" instead of widening the panel."""
    return text.replace("_", "_\u200b").replace("/", "/\u200b")


def card_html(name: str, weights: str | None = None, architecture: str | None = None) -> str:
    """The model card as compact rich text: title, training data, parameter count, clean SSIM / PSNR."""
    def rows(pairs):  # paragraphs, not a table: they wrap to the panel's width
        return "".join(f"<p style='margin:3px 0 0 0'><span style='color:#8a8a8a'>{html.escape(k)}:</span> "
                       f"{_breakable(html.escape(str(v)))}</p>" for k, v in pairs)

    if name in MODELS:
        entry = MODELS[name]
        card = entry.card()
        if not card:
            return (f"<b>{html.escape(entry.title)}</b><br><span style='color:#d08a3a'>No model card: weights not "
                    f"trained yet (halluview-cli train {html.escape(name)}).</span>")
        pairs = [*card_lines(card), ("Trained on", card.get("training", {}).get("data", "—")),
                 ("Parameters", f"{card['parameters']:,}" if card.get("parameters") else "none learned")]
        return f"<b>{html.escape(card.get('title', entry.title))}</b>{rows(pairs)}"
    if name == "checkpoint":
        pairs = [("File", weights or "—"), ("Architecture", architecture or "read from the file when it loads")]
        return f"<b>Your checkpoint</b>{rows(pairs)}No card: nothing is known about its training."
    if name in CLASSICAL:
        return f"<b>{name.upper()}</b><br>{html.escape(CLASSICAL[name])} No training data."
    return ("<b>Baseline</b><br>The operator's direct inverse: zero-filled inverse FFT (MRI), filtered "
            "back-projection (CT) or the noisy image itself (denoising). No training data.")
