"""What a study's tidy table says: ΔSSIM / ΔPSNR against ε per reconstruction with their spread over slices and
seeds (the data of Han et al.'s fig. 3), accuracy against stability, and the verdict in words per reconstruction.

Rows come from ``study.csv``, so every value may be a string, empty or missing: numbers are parsed with
:func:`_number` (NaN when absent) and means leave NaN out. Only finished rows (``status`` "done") count.

Δ definitions, per row: where the scan has a reference (``clean_X`` and ``vs_reference_X`` present),
Δ = clean_X − vs_reference_X, the accuracy the perturbation cost (SSIM, or dB for PSNR); otherwise
ΔSSIM = 1 − vs_clean_ssim and ΔPSNR is left out (NaN): a PSNR against the clean reconstruction has no
accuracy to lose from.
"""
from __future__ import annotations

import math
from collections import defaultdict

REFERENCE, CLEAN, MIXED = "vs reference", "vs clean", "mixed"
DEFAULT_EPS = 0.02


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _mean(values) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def finished(rows: list[dict]) -> list[dict]:
    """The rows of finished cells with a reconstruction and a kind."""
    return [r for r in rows if r.get("status") == "done" and r.get("recon") and r.get("kind") in ("attack", "noise")]


def percent(eps: float) -> str:
    """ε (a fraction of ‖y‖) in words: 0.02 → "2 %"."""
    return f"{100 * eps:.3g} %"


def _has_reference(row: dict, metric: str) -> bool:
    return math.isfinite(_number(row.get(f"clean_{metric}"))) and \
        math.isfinite(_number(row.get(f"vs_reference_{metric}")))


def row_delta(row: dict, metric: str = "ssim") -> float:
    """One row's Δ of ``metric`` ("ssim" or "psnr"): clean − perturbed vs the reference where the scan has one,
    else 1 − SSIM(perturbed, clean) for SSIM and NaN for PSNR."""
    if _has_reference(row, metric):
        return _number(row.get(f"clean_{metric}")) - _number(row.get(f"vs_reference_{metric}"))
    if metric == "ssim":
        return 1.0 - _number(row.get("vs_clean_ssim"))
    return math.nan


def delta_basis(rows: list[dict], metric: str = "ssim") -> str:
    """Which Δ definition the finished rows with a Δ use: "vs reference", "vs clean", "mixed" (some scans have a
    reference, some not) or "" (no row has a Δ)."""
    bases = {REFERENCE if _has_reference(r, metric) else CLEAN
             for r in finished(rows) if math.isfinite(row_delta(r, metric))}
    return bases.pop() if len(bases) == 1 else (MIXED if bases else "")


def delta_curves(rows: list[dict], metric: str = "ssim") -> dict:
    """{(recon, kind): {"eps": [...], "mean": [...], "low": [...], "high": [...], "n": [...]}} over the finished
    rows, ε ascending. ``metric`` "ssim" or "psnr"; the Δ of each row is :func:`row_delta`: clean − perturbed
    against the reference for scans with one (the accuracy lost), else 1 − SSIM(perturbed, clean) (ΔPSNR left out);
    :func:`delta_basis` says which the curves use, for the axis label. ``low`` / ``high`` are the smallest and
    largest over slices and seeds."""
    groups = defaultdict(lambda: defaultdict(list))
    for row in finished(rows):
        value, eps = row_delta(row, metric), _number(row.get("eps"))
        if math.isfinite(value) and math.isfinite(eps):
            groups[(row["recon"], row["kind"])][eps].append(value)
    curves = {}
    for group, by_eps in sorted(groups.items()):
        eps = sorted(by_eps)
        curves[group] = {"eps": eps, "mean": [sum(by_eps[e]) / len(by_eps[e]) for e in eps],
                         "low": [min(by_eps[e]) for e in eps], "high": [max(by_eps[e]) for e in eps],
                         "n": [len(by_eps[e]) for e in eps]}
    return curves


def recons_of(rows: list[dict]) -> list[str]:
    """Every reconstruction the table names (finished or not), sorted."""
    return sorted({str(r["recon"]) for r in rows if r.get("recon")})


def eps_values(rows: list[dict]) -> list[float]:
    """The ε values of the finished rows, ascending."""
    return sorted({e for e in (_number(r.get("eps")) for r in finished(rows)) if math.isfinite(e)})


def default_verdict_eps(rows: list[dict]) -> float | None:
    """The ε to report by default: 2 % if the study has it, else the largest ε below 2 %, else the smallest;
    None when no cell finished."""
    values = eps_values(rows)
    if not values:
        return None
    below = [e for e in values if e <= DEFAULT_EPS or math.isclose(e, DEFAULT_EPS)]
    return max(below) if below else values[0]


def _at(rows: list[dict], eps: float) -> dict[str, dict[str, list[dict]]]:
    """Finished rows at ``eps``: {recon: {"attack": [...], "noise": [...]}}."""
    out = defaultdict(lambda: {"attack": [], "noise": []})
    for row in finished(rows):
        if math.isclose(_number(row.get("eps")), eps):
            out[row["recon"]][row["kind"]].append(row)
    return out


def accuracy_points(rows: list[dict], eps: float, metric: str = "ssim") -> list[dict]:
    """Per reconstruction with a finished attack at ``eps``: {"recon", "clean" (mean clean SSIM or PSNR against the
    reference: accuracy, NaN without one), "delta" (mean attack ΔSSIM or ΔPSNR at ``eps``: instability), "n"
    (cells)}; for SSIM also under the names "clean_ssim" and "delta_ssim"."""
    points = []
    for recon, kinds in sorted(_at(rows, eps).items()):
        if kinds["attack"]:
            clean = _mean(_number(r.get(f"clean_{metric}")) for r in kinds["attack"])
            delta = _mean(row_delta(r, metric) for r in kinds["attack"])
            points.append({"recon": recon, "clean": clean, "delta": delta, "n": len(kinds["attack"]),
                           **({"clean_ssim": clean, "delta_ssim": delta} if metric == "ssim" else {})})
    return points


def _change_column(kinds: dict[str, list[dict]]) -> str:
    """change_l2_in (inside the region) when every row of the reconstruction has it, else change_l2."""
    both = kinds["attack"] + kinds["noise"]
    return "change_l2_in" if all(math.isfinite(_number(r.get("change_l2_in"))) for r in both) else "change_l2"


def _sentence(recon: str, ratio: float, attack: float, column: str, eps: float) -> str:
    where = " inside the region" if column == "change_l2_in" else ""
    at = f"at ε = {percent(eps)}"
    if math.isfinite(ratio):
        return (f"{recon}: the attack changed the reconstruction{where} {ratio:.1f}× as much as noise of the same "
                f"size {at}")
    if math.isinf(ratio):
        return f"{recon}: the attack changed the reconstruction{where}, noise of the same size did not, {at}"
    if attack == 0:
        return f"{recon}: neither the attack nor noise of the same size changed the reconstruction{where} {at}"
    return f"{recon}: the change of the reconstruction is not recorded {at}"


def _verdict(recon: str, kinds: dict[str, list[dict]], eps: float) -> dict:
    column = _change_column(kinds)
    attack = _mean(_number(r.get(column)) for r in kinds["attack"])
    noise = _mean(_number(r.get(column)) for r in kinds["noise"])
    ratio = attack / noise if noise > 0 else (math.inf if attack > 0 and noise == 0 else math.nan)
    return {"recon": recon, "eps": eps, "n": len(kinds["attack"]), "ratio": ratio, "change": column,
            "attack_change": attack, "noise_change": noise,
            "clean_ssim": _mean(_number(r.get("clean_ssim")) for r in kinds["attack"]),
            "clean_psnr": _mean(_number(r.get("clean_psnr")) for r in kinds["attack"]),
            "attack_delta_ssim": _mean(row_delta(r, "ssim") for r in kinds["attack"]),
            "noise_delta_ssim": _mean(row_delta(r, "ssim") for r in kinds["noise"]),
            "sentence": _sentence(recon, ratio, attack, column, eps)}


def verdict_table(rows: list[dict], eps: float) -> list[dict]:
    """Per reconstruction the table names, at ``eps``: {"recon", "eps", "n" (finished cells), "ratio" (mean attack
    change / mean noise change, ‖f(y+δ) − f(y)‖₂ inside the region when every row has it: ``change`` says which
    column), "attack_change", "noise_change", "clean_ssim", "clean_psnr" (accuracy, NaN without a reference),
    "attack_delta_ssim", "noise_delta_ssim" (:func:`row_delta`), "sentence"}. A reconstruction with no finished
    cell at ``eps`` has n = 0, NaN numbers and a sentence that says so."""
    at = _at(rows, eps)
    table = []
    for recon in recons_of(rows):
        kinds = at.get(recon)
        if kinds and kinds["attack"] and kinds["noise"]:
            table.append(_verdict(recon, kinds, eps))
            continue
        table.append({"recon": recon, "eps": eps, "n": 0, "ratio": math.nan, "change": "change_l2",
                      **dict.fromkeys(("attack_change", "noise_change", "clean_ssim", "clean_psnr",
                                       "attack_delta_ssim", "noise_delta_ssim"), math.nan),
                      "sentence": f"{recon}: no finished cell at ε = {percent(eps)}"})
    return table


def verdict_lines(rows: list[dict], eps: float) -> list[str]:
    """Per reconstruction at ``eps``: how many times the equal-norm noise's change the attack caused (means over
    slices and seeds, as :func:`verdict_table`), e.g. "unet-mri-4x: changed 6.7× noise at ε = 2 % (3 cells)"."""
    lines = []
    for entry in verdict_table(rows, eps):
        if entry["n"] and math.isfinite(entry["ratio"]):
            cells = f"{entry['n']} cell{'s' if entry['n'] != 1 else ''}"
            lines.append(f"{entry['recon']}: changed {entry['ratio']:.1f}× noise at ε = {percent(eps)} ({cells})")
        else:
            lines.append(entry["sentence"])
    return lines


CLINICAL = ("vif", "srmse_mean", "srmse_max", "rfs")
"""The clinical metrics' columns (after the anchor: ``vs_reference_vif``, ...); ``hf_share`` has no anchor."""


def _anchor(kinds: dict[str, list[dict]]) -> str:
    """vs_reference when every row of the reconstruction has it (the scans have a reference), else vs_clean."""
    both = kinds["attack"] + kinds["noise"]
    return "vs_reference" if all(math.isfinite(_number(r.get("vs_reference_srmse_max"))) for r in both) \
        else "vs_clean"


def clinical_table(rows: list[dict], eps: float) -> list[dict]:
    """Per reconstruction with finished cells at ``eps``: {"recon", "eps", "n" (cells), "anchor" ("vs_reference"
    or "vs_clean": what the images were compared with, :func:`_anchor`), "values": {"vif", "srmse_mean",
    "srmse_max", "rfs", "hf_share": {"attack", "noise"}}}: means over slices and seeds (NaN where no row has the
    column, e.g. VIF of images under 41 pixels a side)."""
    table = []
    for recon, kinds in sorted(_at(rows, eps).items()):
        if not (kinds["attack"] and kinds["noise"]):
            continue
        anchor = _anchor(kinds)
        columns = {name: f"{anchor}_{name}" for name in CLINICAL} | {"hf_share": "hf_share"}
        values = {name: {kind: _mean(_number(r.get(column)) for r in kinds[kind]) for kind in ("attack", "noise")}
                  for name, column in columns.items()}
        table.append({"recon": recon, "eps": eps, "n": len(kinds["attack"]), "anchor": anchor, "values": values})
    return table
