"""What every analysis starts from: one slice acquired and reconstructed, with its region, on its device."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from ..attacks.regions import region_mask, region_on_grid
from ..errors import ExperimentError
from ..experiment import Experiment
from ..physics.base import Operator
from ..settings import ScanFacts
from .view import AnalysisStep, AnalysisView, Panel

if TYPE_CHECKING:  # the problem module reads files: loaded when an analysis starts, not when the CLI starts
    from ..problem import Reconstruction
    from ..scan import Scan


@dataclass
class AnalysisInput:
    """One slice, its acquisition and its reconstruction.

    Attributes
    ----------
    op : the operator A.
    recon : the reconstruction f, a differentiable module y -> (B, H, W).
    y : the clean measurement (B, ...), noise included.
    clean : f(y) (B, H, W).
    x_true : the imaged object (B, H, W) in working units, or None for a file's own k-space.
    reference : the image "vs reference" metrics use, or None.
    data_range : SSIM / PSNR data range against the reference (None: the reference's maximum).
    region : bool (H, W) tensor or None: the region that matters.
    noise : y − A x_true (the measurement's own noise), or None without an object.
    seed : every random draw of an analysis starts from it.
    label : the reconstruction as messages name it.
    config : the experiment (``to_dict()``) the input was made for: what a result records.
    experiment, reconstruction : the experiment and the clean :class:`~..problem.Reconstruction` it was made from,
        for analyses that run an attack (``problem.bind(replace(experiment, threat=…, objective=…),
        reconstruction)`` then ``attacks.run.run_attack``).
    """

    op: Operator
    recon: torch.nn.Module
    y: Tensor
    clean: Tensor
    x_true: Tensor | None
    reference: Tensor | None
    data_range: float | None
    region: Tensor | None
    noise: Tensor | None
    seed: int
    label: str
    config: dict
    experiment: Experiment
    reconstruction: Reconstruction

    @property
    def device(self) -> torch.device:
        return self.clean.device

    def require_object(self, analysis: str) -> Tensor:
        """x_true, or a one-line error when the measurement came from a file's k-space without an image."""
        if self.x_true is None:
            raise ExperimentError(f"{analysis} needs the imaged object, and this file only has k-space: "
                                  "use a simulated acquisition of an image")
        return self.x_true

    def acquire(self, x: Tensor) -> Tensor:
        """A x plus the clean measurement's own noise: the acquisition of another object, differentiable in x."""
        y = self.op(x)
        return y if self.noise is None else y + self.noise

    def region_numpy(self) -> np.ndarray | None:
        return None if self.region is None else self.region.cpu().numpy()


def analysis_input(experiment: Experiment, scan: Scan | None = None,
                   reuse: Reconstruction | None = None) -> AnalysisInput:
    """Validate, load (unless ``scan`` is given), measure and reconstruct, as an attack does (``reuse``: a clean
    reconstruction already on hand, used when it was made for this experiment); the region is mapped onto the
    working grid. A region is optional: without one, analyses look at the whole image."""
    from ..problem import load_source, measure, recon_label, reconstruct, reconstruction_key
    from ..validation import validate_settings

    experiment.validate_settings()
    scan = scan if scan is not None else load_source(experiment)
    facts = ScanFacts.of(scan)
    validate_settings(experiment, facts)
    if reuse is None or reuse.key != reconstruction_key(experiment):
        reuse = reconstruct(experiment, measure(experiment, scan))
    grid = tuple(reuse.clean.shape[-2:])
    if experiment.source.image_size is not None and tuple(facts.shape) != grid:
        mask = region_on_grid(experiment.region, tuple(facts.shape), grid)
    else:
        mask = region_mask(experiment.region, grid)
    region = None if mask is None else torch.from_numpy(mask).to(reuse.clean.device)
    noise = None
    if reuse.x_true is not None:
        with torch.no_grad():
            noise = reuse.y - reuse.op(reuse.x_true)
    return AnalysisInput(op=reuse.op, recon=reuse.recon, y=reuse.y, clean=reuse.clean, x_true=reuse.x_true,
                         reference=reuse.reference, data_range=reuse.data_range, region=region, noise=noise,
                         seed=experiment.seed, label=recon_label(experiment.recon), config=experiment.to_dict(),
                         experiment=experiment, reconstruction=reuse)


def opening_step(inputs: AnalysisInput, title: str) -> AnalysisStep:
    """What a front end can show before an analysis's own first picture: the object and its reconstruction."""
    panels = [] if inputs.x_true is None else [Panel("Object x", inputs.x_true[0].detach().cpu().numpy())]
    panels.append(Panel(f"Reconstruction f(y): {inputs.label}", inputs.clean[0].detach().cpu().numpy()))
    return AnalysisStep(0, 1, f"{title}: starting on {inputs.label}", AnalysisView(panels=panels))
