"""study.html: one self-contained page that says what a robustness study found, with its figures inline (SVG).

What was run (the grid, the threat, the objective), the verdict per reconstruction in words at the default ε,
ΔSSIM / ΔPSNR against ε, accuracy against stability, mean ΔSSIM per ε, the clinical metrics (VIF, segment RMSE,
RFS, the change's high-frequency share: attack against noise per reconstruction), the failed cells with their
errors, the versions, and links to the table. Every text that comes from the table or the config is escaped.
"""
from __future__ import annotations

import html
import math
from pathlib import Path

from ..atomic import write_text_atomic
from ..compare import flatten
from ..svg_plot import svg_document
from .figures import BASIS_WORDS, accuracy_figure, delta_figure
from .grid import recon_label
from .summary import (
    clinical_table,
    default_verdict_eps,
    delta_basis,
    delta_curves,
    finished,
    percent,
    recons_of,
    verdict_table,
)
from .table import PARQUET, TABLE

PAGE = "study.html"

FIGURES = {"delta_ssim.svg": lambda rows: delta_figure(rows, "ssim"),
           "delta_psnr.svg": lambda rows: delta_figure(rows, "psnr"),
           "accuracy.svg": lambda rows: accuracy_figure(rows),
           "accuracy_psnr.svg": lambda rows: accuracy_figure(rows, metric="psnr")}
EXTRA_STYLE = ("td.text,th.text{text-align:left}td.error{text-align:left;font-family:monospace}"
               "ul.verdicts li{margin:.3em 0}")


def _text(value) -> str:
    return html.escape(str(value))


def _number(value: float, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "∞" if value == math.inf else "—"
    return f"{value:.{digits}f}"


def _table(head: list[str], body: list[list[str]], css: str = "") -> str:
    """An HTML table; ``head`` is text (escaped here), ``body`` cells are HTML already (numbers or escaped text)."""
    heads = "".join(f"<th>{_text(h)}</th>" for h in head)
    rows = "".join("<tr>" + "".join(body_row) + "</tr>" for body_row in body)
    return f"<table class='{css}'><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>"


def _axis(config: dict, key: str, rows: list[dict]) -> list:
    values = config.get(key)
    if values is None:
        return sorted({str(r[key]) for r in rows if r.get(key) not in (None, "")}, key=str)
    return list(values)


def _source_name(source) -> str:
    if isinstance(source, dict):
        return str(source.get("path") or f"demo:{source.get('demo')}")
    return str(source)


def _what(rows: list[dict], config: dict) -> str:
    """The grid in words, the cells finished / failed, and the settings every cell shares."""
    source_entries = _axis(config, "sources", rows)
    sources = [_source_name(s) for s in source_entries]
    recons, eps, seeds = (_axis(config, key, rows) for key in ("recons", "eps", "seeds"))
    recons = [recon_label(r) if isinstance(r, dict) else r for r in recons]
    slices = config.get("slices")
    own = [s.get("slices") if isinstance(s, dict) else None for s in source_entries]
    counts = [len(o or slices or (None,)) for o in own]
    if any(own):
        slice_words = f"{sum(counts)} slices in all"
    else:
        slice_words = "each scan's middle slice" if slices is None else f"{len(slices)} slice{'s' * (len(slices) != 1)}"
    planned = sum(counts) * len(recons) * len(eps) * len(seeds)
    done = {r.get("key") for r in finished(rows) if r.get("kind") == "attack"}
    failed = {r.get("key") for r in rows if r.get("status") == "failed"} - done
    eps_words = ", ".join(percent(float(e)) for e in eps if _is_number(e))
    grid = (f"{len(sources)} scan{'s' * (len(sources) != 1)}, {slice_words} × {len(recons)} reconstruction"
            f"{'s' * (len(recons) != 1)} × {len(eps)} ε ({eps_words} of ‖y‖) × {len(seeds)} seed"
            f"{'s' * (len(seeds) != 1)} = {planned} cells: {len(done)} finished, {len(failed)} failed.")
    choices = config.get("choices") or {}
    threat = ", ".join(f"{k} {v}" for k, v in flatten(choices.get("threat") or {}).items()) or "the defaults"
    objective = ", ".join(f"{k} {v}" for k, v in flatten(choices.get("objective") or {}).items()) or "the defaults"
    shared = flatten(choices)
    settings = _table(["setting", "value"], [[f"<td class='text'>{_text(k)}</td>", f"<td class='text'>{_text(v)}</td>"]
                                             for k, v in shared.items()]) if shared else ""
    return (f"<p>{_text(grid)}</p><p>Scans: {_text(', '.join(sources))}. Reconstructions: "
            f"{_text(', '.join(map(str, recons)))}.</p><p>Threat: {_text(threat)}. Objective: {_text(objective)}."
            f"</p>{settings}")


def _is_number(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _verdict(rows: list[dict]) -> str:
    """The verdict per reconstruction at the default ε, in words and as a table."""
    eps = default_verdict_eps(rows)
    if eps is None:
        if any(r.get("kind") == "analysis" for r in rows):
            return "<p class='verdict none'>This study has no finished attack cell: see its analyses below.</p>"
        return "<p class='verdict none'>No cell has finished yet.</p>"
    entries = verdict_table(rows, eps)
    words = "".join(f"<li>{_text(e['sentence'])}</li>" for e in entries)
    body = [[f"<td class='text'>{_text(e['recon'])}</td>", f"<td>{e['n']}</td>",
             f"<td>{_number(e['ratio'], 1)}{'×' if math.isfinite(e['ratio']) else ''}</td>",
             f"<td>{_number(e['clean_ssim'])}</td>", f"<td>{_number(e['clean_psnr'], 2)}</td>",
             f"<td>{_number(e['attack_delta_ssim'])}</td>", f"<td>{_number(e['noise_delta_ssim'])}</td>"]
            for e in entries]
    table = _table(["reconstruction", "cells", "attack ÷ noise change", "clean SSIM vs reference", "clean PSNR (dB)",
                    "ΔSSIM attack", "ΔSSIM noise"], body)
    return (f"<p>At ε = {_text(percent(eps))} of ‖y‖, mean over slices and seeds; the change is ‖f(y+δ) − f(y)‖₂ "
            "(inside the region when one was drawn), the noise random with the attack's norm.</p>"
            f"<ul class='verdicts verdict'>{words}</ul>{table}")


def _basis_note(rows: list[dict]) -> str:
    words = [BASIS_WORDS.get((metric, delta_basis(rows, metric))) for metric in ("ssim", "psnr")]
    return "<p>" + " ".join(f"{_text(w)}." for w in words if w) + "</p>"


def _per_eps(rows: list[dict]) -> str:
    """Mean ΔSSIM of the attack and of the noise per reconstruction and ε."""
    curves = delta_curves(rows, "ssim")
    eps = sorted({e for c in curves.values() for e in c["eps"]})
    if not eps:
        return "<p>No ΔSSIM yet.</p>"

    def cell(recon: str, kind: str, value: float) -> str:
        curve = curves.get((recon, kind))
        if curve is None or value not in curve["eps"]:
            return "—"
        return _number(curve["mean"][curve["eps"].index(value)])

    body = [[f"<td class='text'>{_text(recon)}</td>"] +
            [f"<td>{cell(recon, 'attack', e)} / {cell(recon, 'noise', e)}</td>" for e in eps]
            for recon in sorted({r for r, _ in curves})]
    return ("<p>Each entry: mean ΔSSIM of the attack / of noise of the same norm.</p>"
            + _table(["reconstruction"] + [f"ε = {percent(e)}" for e in eps], body))


CLINICAL_ROWS = (("vif", "VIF", "{:.4f}", "higher (1: all the visual information kept)"),
                 ("srmse_mean", "MeanSRMSE (image units)", "{:.4g}", "lower"),
                 ("srmse_max", "MaxSRMSE (image units)", "{:.4g}", "lower (the worst segment)"),
                 ("rfs", "RFS", "{:.4f}", "higher (1: the same radiomic features)"),
                 ("hf_share", "high-frequency share of the change", "{:.2f}",
                  "random noise ≈ 0.80; structure near 0"))
ANCHOR_WORDS = {"vs_reference": "against the reference", "vs_clean": "against the clean reconstruction (the scans "
                                                                    "have no reference)"}


def _clinical(rows: list[dict]) -> str:
    """Per reconstruction at the default ε, a small table: VIF, MeanSRMSE, MaxSRMSE, RFS and the change's
    high-frequency share, the attack's mean against the noise's."""
    eps = default_verdict_eps(rows)
    entries = clinical_table(rows, eps) if eps is not None else []
    if not entries:
        return "<p>No finished attack cell.</p>"

    def value(form: str, number: float) -> str:
        return form.format(number) if math.isfinite(number) else "—"

    parts = []
    for entry in entries:
        body = [[f"<td class='text'>{_text(label)}</td>"]
                + [f"<td>{value(form, entry['values'][key][kind])}</td>" for kind in ("attack", "noise")]
                + [f"<td class='text'>{_text(better)}</td>"] for key, label, form, better in CLINICAL_ROWS]
        cells = f"{entry['n']} cell{'s' * (entry['n'] != 1)}"
        parts.append(f"<h3>{_text(entry['recon'])}</h3><p>{_text(ANCHOR_WORDS[entry['anchor']])}, {cells}.</p>"
                     + _table(["metric", "attack", "noise of the same size", "better"], body))
    return (f"<p>At ε = {_text(percent(eps))} of ‖y‖, means over slices and seeds. Segment RMSE and RFS run over "
            "segments of the reference (SLIC, or the label file in the settings); the high-frequency share is the "
            "share of f(y+δ) − f(y)'s energy above half the Nyquist frequency: does the change look like noise or "
            "like structure?</p>" + "".join(parts))


def _analyses(rows: list[dict]) -> str:
    """One table per analysis: its headline numbers per reconstruction (means over slices and seeds)."""
    from .analysis_summary import analysis_summary

    entries = analysis_summary(rows)
    if not entries:
        return ""
    parts = []
    for label in dict.fromkeys(e["analysis"] for e in entries):
        chosen = [e for e in entries if e["analysis"] == label]
        columns = list(chosen[0]["values"])
        thresholds = any(e["thresholds"] for e in chosen)
        body = [[f"<td class='text'>{_text(e['recon'])}</td>", f"<td>{e['cells']}</td>"]
                + [f"<td>{_number(*e['values'][c])}</td>" for c in columns]
                + ([f"<td class='text'>{_text(e['thresholds'])}</td>"] if thresholds else []) for e in chosen]
        head = ["reconstruction", "cells", *columns] + (["50 % contrast threshold (discs)"] if thresholds else [])
        parts.append(f"<h3>{_text(label)}</h3>{_table(head, body)}")
    return "<h2>Analyses</h2><p>Means over slices and seeds; every number is in the table.</p>" + "".join(parts)


def _failures(rows: list[dict]) -> str:
    done = {r.get("key") for r in finished(rows)}
    seen, body = set(), []
    for row in rows:
        key = row.get("key")
        if row.get("status") != "failed" or key in done or key in seen:
            continue
        seen.add(key)
        eps = percent(float(row["eps"])) if _is_number(row.get("eps")) else ""
        body.append([f"<td class='text'>{_text(row.get(k, ''))}</td>" for k in ("source", "slice", "recon")]
                    + [f"<td>{_text(eps)}</td>", f"<td>{_text(row.get('seed', ''))}</td>",
                       f"<td class='error'>{_text(row.get('error', ''))}</td>"])
    if not body:
        return "<p>No cell failed.</p>"
    return _table(["scan", "slice", "reconstruction", "ε", "seed", "error"], body)


def _page(rows: list[dict], config: dict, versions: dict, figures: dict[str, str], tables: list[str]) -> str:
    from ..report_html import STYLE

    links = ", ".join(f"<a href='{_text(name)}'>{_text(name)}</a>" for name in tables)
    version_rows = [[f"<td class='text'>{_text(k)}</td>", f"<td class='text'>{_text(v)}</td>"]
                    for k, v in versions.items()]
    recons = recons_of(rows)
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>HalluView robustness study</title>"
            f"<style>{STYLE}{EXTRA_STYLE}</style></head><body><h1>HalluView robustness study</h1>"
            f"<p class='what'>{len(recons)} reconstruction{'s' * (len(recons) != 1)} attacked with worst-case "
            "perturbations and with random noise of the same size.</p>"
            f"<h2>What was run</h2>{_what(rows, config)}"
            f"<h2>Verdict</h2>{_verdict(rows)}"
            f"<h2>Change against ε</h2>{_basis_note(rows)}{figures['delta_ssim.svg']}{figures['delta_psnr.svg']}"
            f"<h2>Accuracy against stability</h2>{figures['accuracy.svg']}{figures['accuracy_psnr.svg']}"
            f"<h2>ΔSSIM per ε</h2>{_per_eps(rows)}"
            f"<h2>Clinical metrics</h2>{_clinical(rows)}"
            f"{_analyses(rows)}"
            f"<h2>Failed cells</h2>{_failures(rows)}"
            f"<h2>Versions</h2>{_table(['component', 'version'], version_rows)}"
            f"<p>Every number, one row per cell and kind: {links}</p></body></html>")


def study_page(rows: list[dict], config_dict: dict, versions: dict) -> str:
    """The HTML page of a study's ``rows`` (the tidy table, values possibly text); ``config_dict`` is the study
    config as plain data (sources, slices, recons, eps, seeds, choices), ``versions`` the software versions."""
    return _page(rows, config_dict or {}, versions or {}, {name: draw(rows) for name, draw in FIGURES.items()},
                 [TABLE, PARQUET])


def write_summary(folder: str | Path, rows: list[dict], config_dict: dict, versions: dict) -> list[Path]:
    """Write study.html and its figures (delta_ssim.svg, delta_psnr.svg, accuracy.svg, accuracy_psnr.svg) into
    ``folder``, each atomically; returns their paths, the page first. The page links the tables the folder holds."""
    folder = Path(folder)
    figures = {name: draw(rows) for name, draw in FIGURES.items()}
    tables = [name for name in (TABLE, PARQUET) if (folder / name).is_file()] or [TABLE]
    page = _page(rows, config_dict or {}, versions or {}, figures, tables)
    paths = [write_text_atomic(folder / PAGE, page)]
    paths += [write_text_atomic(folder / name, svg_document(svg)) for name, svg in figures.items()]
    return paths
