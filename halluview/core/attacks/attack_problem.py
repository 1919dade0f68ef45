"""One attack's problem: the operator, the reconstruction, the measurement and what is attacked, on its device."""
from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn

from ..physics.base import Operator
from .objectives import Objective
from .optimizers import OptimizerConfig
from .threat import Threat


@dataclass
class AttackProblem:
    """Everything one attack needs, built and on its device.

    Attributes
    ----------
    op, recon : the operator and the reconstruction f (a differentiable module y -> (B, H, W)).
    y : clean measurement (B, ...).
    x_true : the image the measurement was simulated from (image / patch threats perturb it); may be None.
    reference : image the "vs reference" metrics use (ground truth or the file's reference); may be None.
    clean : f(y), computed once.
    threat, objective, optimizer : bound to this problem.
    region : bool (H, W) tensor or None: the drawn region (metrics in / out of it).
    data_range : for SSIM / PSNR vs reference (fastMRI files: attrs['max']); None = reference max.
    seed : random starts and noise baselines draw from it.
    config : the full serialisable experiment, recorded in the result.
    surrogate : a transfer attack: the same measurement, threat and objective bound to another reconstruction,
        whose gradients drive the attack (steps show it); the result is ``recon``'s response to the δ found. For
        reconstructions too slow or not differentiable enough to attack directly (Deep Decoder).
    warm_start : a δ to begin the first restart from (projected onto the budget), e.g. the worst case found for
        the next smaller ε; None: near 0 (or a random point). The random draws are the same either way.
    """

    op: Operator
    recon: nn.Module
    y: Tensor
    clean: Tensor
    threat: Threat
    objective: Objective
    optimizer: OptimizerConfig
    x_true: Tensor | None = None
    reference: Tensor | None = None
    region: Tensor | None = None
    data_range: float | None = None
    seed: int = 0
    image_every: int = 1
    noise_draws: int = 4
    config: dict = field(default_factory=dict)
    surrogate: AttackProblem | None = None
    warm_start: Tensor | None = None

    def perturbed_measurement(self, delta: Tensor) -> Tensor:
        """y + δ, or y + Aδ for image-domain threats (the object changes, the measurement noise stays)."""
        if self.threat.config.domain == "measurement":
            return self.y + delta
        return self.y + self.op(delta)
