"""The clinical metrics and the spectral share of one finished attack, computed once (never per step).

Everything comes in as CPU numpy arrays, so this module knows nothing of the attack's types: the attack's
``finish`` passes the clean and perturbed reconstructions, the noise draws' reconstructions, the images the
metrics compare against and the segmentation.
"""
from __future__ import annotations

import numpy as np

from .clinical import ClinicalComparison, worst_segment
from .radiomics import RadiomicBasis
from .segments import Segmentation, auto_segments, load_segments
from .spectral import high_frequency_share, radial_power


def attack_segments(config: dict, image: np.ndarray, data_range: float) -> Segmentation:
    """The experiment's label file (``config["segments"]``, on the attacked slice), else SLIC on ``image`` (the
    reference when the scan has one, else the clean reconstruction)."""
    path = config.get("segments")
    if path:
        return load_segments(path, image.shape, (config.get("source") or {}).get("slice") or 0)
    return auto_segments(image, data_range)


def _mean(draws: list[dict]) -> dict:
    return {key: float(np.mean([d[key] for d in draws])) for key in draws[0]}


class ClinicalReference:
    """The reference side of an attack's clinical metrics, computed once and shared by every attack on the same
    clean reconstruction (a study's ε values): the segments, the radiomic basis and, per anchor ("vs_clean" /
    "vs_reference" → (image, data range)), the anchor's features and its side of VIF. RFS's grey levels span
    ``grey_range`` for every comparison, so each reconstruction's features are computed once."""

    def __init__(self, anchors: dict[str, tuple[np.ndarray, float]], segments: Segmentation,
                 region: np.ndarray | None, grey_range: tuple[float, float]):
        self.anchors, self.segments = anchors, segments
        self.basis = RadiomicBasis(segments.labels, *grey_range)
        self.comparisons = {name: ClinicalComparison(image, data_range, segments, region, self.basis)
                            for name, (image, data_range) in anchors.items()}


def clinical_of_attack(reference: ClinicalReference, perturbed: np.ndarray, noise: list[np.ndarray]) -> dict:
    """{"attack": {anchor: metrics}, "noise": {anchor: metrics averaged over the draws}, "worst_segment": {anchor:
    where MaxSRMSE is for the attack}}."""
    images = [perturbed, *noise]
    features = [reference.basis.features(image) for image in images]
    out = {"attack": {}, "noise": {}, "worst_segment": {}}
    for name, comparison in reference.comparisons.items():
        values = [comparison.metrics(x, f) for x, f in zip(images, features)]
        out["attack"][name], out["noise"][name] = values[0], _mean(values[1:])
        out["worst_segment"][name] = worst_segment(perturbed, reference.anchors[name][0], reference.segments)
    return out


def spectral_of_attack(clean: np.ndarray, perturbed: np.ndarray, noise: list[np.ndarray]) -> tuple[dict, dict]:
    """(norms: "change_hf_share" of f(y+δ) − f(y) and "noise_change_hf_share_mean" over the draws; spectra: the
    radially averaged power of the attack's change and the mean over the noise draws' changes)."""
    change = perturbed - clean
    noise_shares = [high_frequency_share(r - clean) for r in noise]
    noise_spectra = [radial_power(r - clean)["power"] for r in noise]
    attack_spectrum = radial_power(change)
    norms = {"change_hf_share": high_frequency_share(change),
             "noise_change_hf_share_mean": float(np.mean(noise_shares))}
    spectra = {"frequency": attack_spectrum["frequency"], "attack_power": attack_spectrum["power"],
               "noise_power_mean": np.mean(noise_spectra, axis=0).tolist()}
    return norms, spectra
