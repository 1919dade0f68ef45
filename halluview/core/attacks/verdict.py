"""The verdict on an attack in plain words: did it find anything beyond random noise of its size?

An attack can fail silently: too few steps, a step size that overshoots, a saddle at δ = 0. The verdict says so
instead of presenting the result as a worst case. It compares, in the attack's own terms:

- the objective at the δ found with the objective at δ = 0 (the unperturbed reconstruction): did it improve?
- the same objective under the equal-norm noise draws: did it do better than noise of the same size?
- the realised ε with the budget: how much of the budget did it use?
- for reconstructions refitted to every measurement: the change with their own variation between refits.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

LOW_BUDGET_USE = 0.5  # below this fraction of ε the verdict says how little of the budget was used
REFIT_MARGIN = 2.0  # an attack's change within this factor of the refit variation is not told apart from it


@dataclass
class Verdict:
    """``found``: the attack did better than no perturbation and than noise of the same size.

    ``headline`` is one sentence for people; ``warnings`` say what limits the result; ``noise_ratio`` is the
    reconstruction's change under the attack over its change under noise (inside the region for targeted
    objectives); ``budget_used`` the realised ε over the budget ε.
    """

    found: bool
    headline: str
    warnings: list[str] = field(default_factory=list)
    noise_ratio: float | None = None
    budget_used: float | None = None
    progress: float | None = None  # insert / remove: the fraction of the way to the target, attack and noise
    noise_progress: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _ratio(attack: float, noise: float) -> float:
    if noise > 0:
        return attack / noise
    return float("inf") if attack > 0 else 1.0


def _times(ratio: float) -> str:
    return "infinitely many times" if ratio == float("inf") else f"{ratio:.3g}×"


def _progress(value: float, clean_value: float) -> float:
    """How far an insert / remove objective (≤ 0, 0 at the target) went from δ = 0 towards the target."""
    return 1.0 - value / clean_value if clean_value < 0 else 0.0


def assess(kind: str, objectives: dict, changes: dict, budget_used: float, spread: dict | None = None) -> Verdict:
    """The verdict for one result.

    Parameters
    ----------
    kind : the objective's kind (untargeted, region, insert, remove).
    objectives : {"attack", "clean", "noise_mean"}: the objective at δ, at δ = 0 and under noise (mean of draws).
    changes : {"attack", "noise"}: ‖f(y+δ) − f(y)‖₂ and the noise draws' mean, inside the region for targeted
        objectives (the whole image otherwise).
    budget_used : realised ε / ε.
    spread : :func:`~halluview.core.attacks.baseline.refit_spread` with the matching "change" key, or None.
    """
    attack, clean, noise = objectives["attack"], objectives["clean"], objectives["noise_mean"]
    tolerance = 1e-6 * max(abs(clean), abs(attack), 1e-12)
    improved = attack > clean + tolerance
    beats_noise = attack > noise + tolerance
    ratio = _ratio(changes["attack"], changes["noise"])
    where = "the whole image" if kind == "untargeted" else "the region"
    warnings = []
    if not improved:
        warnings.append("the attack did not improve its objective over the unperturbed measurement (δ = 0): it "
                        "found nothing; try more steps, restarts or another step size")
    elif not beats_noise:
        warnings.append("random noise of the same size does as much for the attack's objective: no worst case "
                        "beyond noise was found")
    if budget_used < LOW_BUDGET_USE:
        warnings.append(f"the attack used only {budget_used:.0%} of its budget ε")
    if spread is not None and changes["attack"] < REFIT_MARGIN * spread["change"]:
        warnings.append(f"the change ({changes['attack']:.3g}) is comparable to the reconstruction's own variation "
                        f"between refits or samples from other random seeds ({spread['change']:.3g}): it is not told "
                        "apart from that variation")
    found = improved and beats_noise
    progress = noise_progress = None
    if kind in ("insert", "remove"):
        goal = "the inserted lesion" if kind == "insert" else "the erased region"
        progress, noise_progress = _progress(attack, clean), max(_progress(noise, clean), 0.0)
        headline = (f"The attack took the region {progress:.0%} of the way to {goal}; noise of the "
                    f"same size: {noise_progress:.0%}.")
    else:
        headline = (f"In {where} the attack changed the reconstruction {_times(ratio)} as much as noise of the "
                    "same size.")
    if not found:
        headline = f"No worst case found: {warnings[0]}."
    return Verdict(found, headline, warnings, ratio, budget_used, progress, noise_progress)


def in_words(kind: str, verdict: Verdict, metrics: dict, noise_metrics: dict | None) -> str:
    """The verdict as a clinician reads it in two seconds, with the SSIM of the attack and of the noise, e.g.
    "Inside the marked region the attack changed the image 12× more than random noise of the same size (SSIM
    0.72 vs 0.995)." An attack that found nothing says so first."""
    if not verdict.found:
        return verdict.headline
    clean = metrics.get("vs_clean", {})
    noise = (noise_metrics or {}).get("vs_clean", {})
    key = "ssim_in" if kind != "untargeted" and "ssim_in" in clean else "ssim"
    where = "Inside the marked region" if key == "ssim_in" else "Across the whole image"
    ssim = ""
    if key in clean and key in noise:
        ssim = f" (SSIM {clean[key]:.3g} vs {noise[key]:.3g})"
    if verdict.progress is not None:
        goal = "the inserted lesion" if kind == "insert" else "erasing what is there"
        return (f"{where} the attack took the image {verdict.progress:.0%} of the way to {goal}; random noise of the "
                f"same size: {verdict.noise_progress:.0%}{ssim}.")
    return (f"{where} the attack changed the image {_times(verdict.noise_ratio)} more than random noise of the same "
            f"size{ssim}.")
