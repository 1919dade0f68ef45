"""How long a run will take, said before it starts: from the time the clean reconstruction f(y) just took.

One attack step is a forward and a backward pass. Measured against the *first* clean reconstruction (which carries
one-time warm-up), a step took 1.15× (TV) to 2.1× (RED-CNN) of it for the built-in models at native size on this
project's CPU (FBPConvNet 512²: 1.6×, U-Net 233×197: 1.7×), so a step is taken as 1.8 such reconstructions.
Each noise draw of the baseline is one more forward pass. A transfer attack steps through its surrogate, whose
time is not known before it is built: the estimate then covers the target's own reconstructions only and says so.
"""
from __future__ import annotations

from dataclasses import dataclass

STEP_PER_FORWARD = 1.8


@dataclass(frozen=True)
class RunEstimate:
    seconds: float
    step_seconds: float
    steps: int
    transfer: bool

    def words(self) -> str:
        if self.transfer:
            return (f"each reconstruction takes about {duration(self.step_seconds / STEP_PER_FORWARD)}; the steps go "
                    "through the surrogate (its time shows once the run starts)")
        return (f"about {duration(self.seconds)} for {self.steps} steps "
                f"(~{duration(self.step_seconds)} per step at this size)")


def estimate_run(experiment, forward_seconds: float) -> RunEstimate:
    """The estimate for ``experiment`` when f(y) took ``forward_seconds`` on its device."""
    optimizer = experiment.optimizer
    steps = int(optimizer.steps) * int(optimizer.restarts)
    step = STEP_PER_FORWARD * forward_seconds
    total = steps * step + (int(experiment.noise_draws) + 2) * forward_seconds
    return RunEstimate(total, step, steps, bool(experiment.surrogate))


def duration(seconds: float) -> str:
    """"0.3 s", "12 s", "4 min 10 s", "1 h 5 min"."""
    if seconds < 10:
        return f"{seconds:.1f} s" if seconds >= 0.1 else f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
