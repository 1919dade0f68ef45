"""Two finished runs side by side: the settings that differ and their numbers (Qt-free).

A run is given as the app's run record (``experiment`` and ``result``), an
:class:`~halluview.core.attacks.run.AttackResult`, or a loaded ``report.json``: the same comparison for the app's
Compare dialog and for two report files.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .display import robust_limit

METRICS = (("ssim", "SSIM"), ("psnr", "PSNR (dB)"), ("mse", "MSE"), ("nmse", "NMSE"))
PLACES = (("", "whole image"), ("_in", "inside the region"), ("_out", "outside the region"))
CHANGES = (("recon_change_l2", "‖f(y+δ) − f(y)‖₂, whole image"),
           ("noise_recon_change_l2_mean", "same under equal-norm noise"),
           ("recon_change_l2_in", "‖f(y+δ) − f(y)‖₂, inside the region"),
           ("noise_recon_change_l2_in_mean", "same under equal-norm noise, inside the region"),
           ("realised_eps", "realised ε"))


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys: ``{"threat": {"eps": 0.02}}`` → ``{"threat.eps": 0.02}``.

    Lists and other values are leaves; an empty dict is a leaf too (so it still shows).
    """
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@dataclass(frozen=True)
class SettingDifference:
    """One setting whose value differs; ``None`` where a run does not record it."""

    key: str
    a: Any
    b: Any


@dataclass(frozen=True)
class MetricRow:
    """One number of both runs: ``section`` (e.g. "inside the region, vs clean"), ``name`` (e.g. "SSIM")."""

    section: str
    name: str
    a: float | None
    b: float | None


@dataclass(frozen=True)
class RunComparison:
    settings: list[SettingDifference]
    metrics: list[MetricRow]
    verdicts: tuple[str | None, str | None]


@dataclass(frozen=True)
class _RunNumbers:
    config: dict
    metrics: dict
    noise_metrics: dict
    norms: dict
    verdict: str | None


def _numbers(run) -> _RunNumbers:
    """The configuration and numbers of a run record, a result or a report dict."""
    if isinstance(run, dict):
        final = run.get("final") or {}
        verdict = run.get("verdict") or {}
        return _RunNumbers(run.get("config") or {}, final.get("attack") or {}, final.get("equal_norm_noise") or {},
                           run.get("norms") or {}, verdict.get("headline"))
    result = getattr(run, "result", run)
    if result is None or not hasattr(result, "metrics"):
        raise ValueError(f"{getattr(run, 'label', 'the run')} has no result to compare (it has not finished)")
    config = getattr(run, "experiment", None) or result.config
    verdict = result.verdict.headline if result.verdict is not None else None
    return _RunNumbers(config, result.metrics, result.noise_metrics, result.norms, verdict)


def _number(value) -> float | None:
    """A metric as a float (report.json writes inf / nan as strings); None when missing."""
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def differing_settings(config_a: dict, config_b: dict, ignore: tuple[str, ...] = ()) -> list[SettingDifference]:
    """The settings whose values differ, dotted keys in the first run's order, then the second's own keys."""
    flat_a, flat_b = flatten(config_a), flatten(config_b)
    keys = list(flat_a) + [k for k in flat_b if k not in flat_a]
    return [SettingDifference(k, flat_a.get(k), flat_b.get(k)) for k in keys
            if not k.startswith(tuple(ignore)) and not _same(flat_a.get(k), flat_b.get(k))]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _metric_rows(a: _RunNumbers, b: _RunNumbers) -> list[MetricRow]:
    rows: list[MetricRow] = []
    groups = (("vs clean", "vs_clean", a.metrics, b.metrics),
              ("vs reference", "vs_reference", a.metrics, b.metrics),
              ("equal-norm noise vs clean", "vs_clean", a.noise_metrics, b.noise_metrics))
    for suffix, place in PLACES:
        for label, group, source_a, source_b in groups:
            for key, name in METRICS:
                value_a = _number((source_a.get(group) or {}).get(key + suffix))
                value_b = _number((source_b.get(group) or {}).get(key + suffix))
                if value_a is not None or value_b is not None:
                    rows.append(MetricRow(f"{place}, {label}", name, value_a, value_b))
    for key, name in CHANGES:
        value_a, value_b = _number(a.norms.get(key)), _number(b.norms.get(key))
        if value_a is not None or value_b is not None:
            rows.append(MetricRow("change", name, value_a, value_b))
    return rows


def compare_runs(a, b, ignore: tuple[str, ...] = ()) -> RunComparison:
    """Compare two finished runs: the settings that differ (dotted keys, both values, leaving out keys that start
    with one of ``ignore``), their metrics side by side (whole image, inside and outside the region, vs clean,
    vs reference, the equal-norm noise) and their verdicts. Raises ValueError for a run without a result."""
    numbers_a, numbers_b = _numbers(a), _numbers(b)
    return RunComparison(differing_settings(numbers_a.config, numbers_b.config, ignore),
                         _metric_rows(numbers_a, numbers_b), (numbers_a.verdict, numbers_b.verdict))


def shared_difference_limit(*differences: np.ndarray) -> float:
    """One symmetric colour scale for several difference images: the largest of their robust |Δ|."""
    return max(robust_limit(d) for d in differences)
