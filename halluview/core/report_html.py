"""report.html: one self-contained page a person reads (report.json is for programs, and linked from it).

Images are embedded as PNG data, the per-step curves are inline SVG, the settings a table; the only link is the
relative one to report.json. The difference uses :mod:`halluview.core.display`'s table and scale, as the app and
the exported figure do.
"""
from __future__ import annotations

import base64
import html
import io
import json

import numpy as np
from PIL import Image

from .attacks.run import AttackResult
from .compare import METRICS, flatten
from .display import diverging_lut, diverging_rgb, grey_rgb, grey_window, robust_limit
from .figure import units_of
from .svg_plot import line_plot

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d1d1f;background:#fff;
max-width:1120px;margin:2em auto;padding:0 1.5em;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.3em;margin-top:1.8em;border-bottom:1px solid #ccc;
padding-bottom:.2em}.what{color:#444;margin-top:0}
.verdict{font-size:1.15em;padding:.6em .9em;border-left:5px solid #2e7d32;background:#f3f8f3}
.verdict.none{border-left-color:#e08e00;background:#fff6e5}.warn{color:#9a5b00}.detail{color:#444}
figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}figcaption{font-size:.9em;color:#444;max-width:260px}
img.scan{width:256px;height:auto;image-rendering:pixelated;border:1px solid #ccc}
img.bar{width:256px;height:12px;image-rendering:pixelated;display:block}
.bar-labels{display:flex;justify-content:space-between;width:256px;font-size:.8em}
table{border-collapse:collapse;margin:.5em 0}th,td{padding:3px 10px;border-bottom:1px solid #e2e2e2;
text-align:right}th[scope=row],td.key{text-align:left}td.value{text-align:left;font-family:monospace}
thead th{background:#f2f2f2}svg.plot{margin:0 1em 1em 0;font-family:inherit}
"""


def _png_uri(rgb: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(rgb: np.ndarray, title: str, caption: str = "", extra: str = "") -> str:
    text = html.escape(title) + (f"<br>{html.escape(caption)}" if caption else "")
    return (f"<figure><img class='scan' alt='{html.escape(title)}' src='{_png_uri(rgb)}'>{extra}"
            f"<figcaption>{text}</figcaption></figure>")


def _colour_bar(limit: float, units: str) -> str:
    """The diverging table as a bar from −limit to +limit, labelled in the scan's units."""
    bar = np.repeat(diverging_lut()[None], 12, axis=0)
    return (f"<img class='bar' alt='colour bar' src='{_png_uri(bar)}'><div class='bar-labels'>"
            f"<span>−{limit:.3g}</span><span>0</span><span>+{limit:.3g} {html.escape(units)}</span></div>")


def _perturbation_rgb(image: np.ndarray) -> np.ndarray:
    if image.min() < 0:
        return diverging_rgb(image, robust_limit(image))
    return grey_rgb(image, 0.0, float(image.max()) or 1.0)


def _images(result: AttackResult) -> str:
    units = units_of(result.config)
    low, high = grey_window(result.clean)
    difference = units.difference_to_scan(result.perturbed - result.clean)
    limit = robust_limit(difference)
    domain = (result.config.get("threat") or {}).get("domain", "measurement")
    what = "log-magnitude of δ in the measurement" if domain == "measurement" else "δ in the image"
    return "".join([
        _figure(grey_rgb(result.clean, low, high), "Clean reconstruction", "f(y)"),
        _figure(grey_rgb(result.perturbed, low, high), "Perturbed reconstruction", "f(y + δ)"),
        _figure(diverging_rgb(difference, limit), "Difference", "perturbed − clean: red brighter, blue darker, "
                f"grey unchanged ({units.label})", _colour_bar(limit, units.label)),
        _figure(_perturbation_rgb(result.perturbation_image), "Perturbation", what)])


def _metrics_table(result: AttackResult) -> str:
    rows = []
    for group, anchor in (("vs_clean", "vs clean"), ("vs_reference", "vs reference")):
        for suffix, place in (("", "whole image"), ("_in", "inside the region"), ("_out", "outside the region")):
            for who, source in (("attack", result.metrics), ("equal-norm noise", result.noise_metrics)):
                values = (source or {}).get(group) or {}
                if f"ssim{suffix}" in values:
                    cells = "".join(f"<td>{values[key + suffix]:.4g}</td>" for key, _ in METRICS)
                    rows.append(f"<tr><th scope='row'>{who} {anchor}, {place}</th>{cells}</tr>")
    head = "".join(f"<th>{html.escape(name)}</th>" for _, name in METRICS)
    return f"<table class='metrics'><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


CLINICAL = (("vif", "VIF"), ("srmse_mean", "MeanSRMSE"), ("srmse_max", "MaxSRMSE"), ("rfs", "RFS"))


def _clinical_table(result: AttackResult) -> str:
    """VIF, segment RMSE and RFS of the attack and of the noise (the CLI summary's numbers), and the changes'
    high-frequency share; empty for a result without them."""
    rows = []
    for group, anchor in (("vs_clean", "vs clean"), ("vs_reference", "vs reference")):
        for who, source in (("attack", result.metrics), ("equal-norm noise", result.noise_metrics)):
            values = (source or {}).get(group) or {}
            if "srmse_max" in values:
                cells = "".join(f"<td>{values[key]:.4g}</td>" if key in values else "<td>—</td>"
                                for key, _ in CLINICAL)
                rows.append(f"<tr><th scope='row'>{who} {anchor}</th>{cells}</tr>")
    if not rows:
        return ""
    head = "".join(f"<th>{name}</th>" for _, name in CLINICAL)
    norms = result.norms
    share = (f"<p>Share of the change's energy above half the Nyquist frequency (white noise ≈ 0.80, a smooth "
             f"structure near 0): attack {norms['change_hf_share']:.2f}, equal-norm noise "
             f"{norms['noise_change_hf_share_mean']:.2f}.</p>") if "change_hf_share" in norms else ""
    return (f"<h2>Clinical metrics</h2><table class='metrics'><thead><tr><th></th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{share}")


def _curves(result: AttackResult) -> str:
    history = result.history or []
    if not history:
        return "<p>No steps were recorded.</p>"
    steps = list(range(1, len(history) + 1))
    clean = [(h.get("metrics") or {}).get("vs_clean") or {} for h in history]

    def series(key: str) -> list[float]:
        return [float(c.get(key, float("nan"))) for c in clean]

    ssim, psnr = {"whole image": series("ssim")}, {"whole image": series("psnr")}
    if "ssim_in" in clean[0]:
        ssim["inside the region"], psnr["inside the region"] = series("ssim_in"), series("psnr_in")
    x_label = "step" if len({h.get("restart", 0) for h in history}) == 1 else "step, all restarts in turn"
    return "".join([
        line_plot(steps, {"objective": [float(h["objective"]) for h in history]},
                  "Objective (the attack maximises it)", x_label),
        line_plot(steps, ssim, "SSIM vs clean", x_label),
        line_plot(steps, psnr, "PSNR vs clean (dB)", x_label)])


def _noise(result: AttackResult) -> str:
    n = result.norms or {}
    rows = [("‖·‖₂ of the perturbation", n.get("delta_l2"), n.get("noise_l2")),
            ("‖·‖∞ of the perturbation", n.get("delta_linf"), n.get("noise_linf")),
            ("realised ε", n.get("realised_eps"), n.get("noise_realised_eps")),
            ("‖f(y+δ) − f(y)‖₂, whole image", n.get("recon_change_l2"), n.get("noise_recon_change_l2_mean")),
            ("‖f(y+δ) − f(y)‖₂, inside the region", n.get("recon_change_l2_in"),
             n.get("noise_recon_change_l2_in_mean"))]
    body = "".join(f"<tr><th scope='row'>{html.escape(name)}</th><td>{a:.4g}</td><td>{b:.4g}</td></tr>"
                   for name, a, b in rows if isinstance(a, (int, float)) and isinstance(b, (int, float)))
    table = ("<table><thead><tr><th></th><th>attack</th><th>equal-norm noise</th></tr></thead>"
             f"<tbody>{body}</tbody></table>")
    images = ""
    if result.noise_example is not None:
        units = units_of(result.config)
        attack_limit = robust_limit(units.difference_to_scan(result.perturbed - result.clean))
        low, high = grey_window(result.clean)
        noise_difference = units.difference_to_scan(result.noise_example - result.clean)
        images = (_figure(grey_rgb(result.noise_example, low, high), "Reconstruction under noise",
                          "one draw of the equal-norm noise") +
                  _figure(diverging_rgb(noise_difference, attack_limit), "Its difference",
                          "on the attack's colour scale", _colour_bar(attack_limit, units.label)))
    return ("<p>Random noise of exactly the attack's size (the same norm, on the same entries) shows what any "
            "perturbation of that size does; the attack is a worst case only if it changes the reconstruction "
            f"clearly more.</p>{table}{images}")


def _value(value) -> str:
    if value is None or value == {} or value == []:
        return "—"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _key_value_table(pairs: dict, css: str, key_name: str) -> str:
    rows = "".join(f"<tr><td class='key'>{html.escape(str(k))}</td><td class='value'>{html.escape(_value(v))}"
                   f"</td></tr>" for k, v in pairs.items())
    return (f"<table class='{css}'><thead><tr><th>{key_name}</th><th>value</th></tr></thead><tbody>{rows}</tbody>"
            "</table>")


def _verdict(result: AttackResult) -> str:
    """The clinician's sentence first, the verdict's own headline under it when it says more, then warnings."""
    from .attacks.verdict import in_words

    verdict = result.verdict
    if verdict is None:
        return "<p>This run has no verdict.</p>"
    kind = (result.config.get("objective") or {}).get("kind", "untargeted")
    words = in_words(kind, verdict, result.metrics, result.noise_metrics)
    css = "verdict" if verdict.found else "verdict none"
    detail = f"<p class='detail'>{html.escape(verdict.headline)}</p>" if verdict.headline != words else ""
    items = "".join(f"<li class='warn'>{html.escape(w)}</li>" for w in verdict.warnings)
    return (f"<p class='{css}'><strong>{html.escape(words)}</strong></p>{detail}"
            + (f"<ul>{items}</ul>" if items else ""))


def report_page(result: AttackResult, versions: dict, json_name: str = "report.json") -> str:
    """The HTML page of one result; ``versions`` are the software versions to list."""
    from .choices import attacked_line

    what = attacked_line(result.config) + (f"; transfer from {result.config['surrogate']}"
                                           if result.config.get("surrogate") else "")
    environment = {**versions, **{k: v for k, v in (result.environment or {}).items() if k not in versions},
                   "seconds": round(result.seconds, 3)}
    link = html.escape(json_name)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>HalluView report</title>"
            f"<style>{STYLE}</style></head><body>"
            f"<h1>HalluView attack report</h1><p class='what'>{html.escape(what)}</p>"
            f"<h2>Verdict</h2>{_verdict(result)}"
            f"<h2>Images</h2>{_images(result)}"
            f"<h2>Metrics</h2>{_metrics_table(result)}{_clinical_table(result)}"
            f"<h2>Per-step curves</h2>{_curves(result)}"
            f"<h2>Noise baseline</h2>{_noise(result)}"
            f"<h2>Settings</h2>{_key_value_table(flatten(result.config), 'settings', 'setting')}"
            f"<h2>Versions and environment</h2>{_key_value_table(environment, 'versions', 'component')}"
            f"<p>Every number, per step and final, for programs: <a href='{link}'>{link}</a></p>"
            "</body></html>")
