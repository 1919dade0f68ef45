"""A model card's clean numbers in words, the same for the CLI's ``models`` and the app's model panel."""
from __future__ import annotations


def _pair(metrics: dict, key: str, digits: int, unit: str = "") -> str:
    model, baseline = metrics.get(key), metrics.get(f"baseline_{key}")
    if model is None:
        return ""
    text = f"{key.upper()} {model:.{digits}f}{unit}"
    spread = metrics.get(f"{key}_seed_std")  # a random reconstruction: the spread of the mean over sampler seeds
    if spread is not None:
        text = f"{key.upper()} {model:.{digits}f} ± {spread:.{digits}f}{unit} ({metrics['sampler_seeds']} seeds)"
    return text + (f" vs {baseline:.{digits}f}{unit} baseline" if baseline is not None else "")


def card_lines(card: dict) -> list[tuple[str, str]]:
    """(label, words) for the held-out real slices (with the verdict) and the held-out phantoms."""
    lines = []
    real = card.get("real_metrics") or {}
    if real.get("held_out_slices"):
        shapes = sorted({tuple(r["size"]) for r in real.get("slices", [])}, key=lambda s: -s[0] * s[1])
        sizes = [f"{cols}×{rows}" for rows, cols in shapes]  # width × height, largest first
        lines.append(("Real scans", f"{_pair(real, 'ssim', 3)}, {_pair(real, 'psnr', 1, ' dB')} on "
                                    f"{real['held_out_slices']} held-out slices of other volumes, at their own "
                                    f"sizes ({', '.join(sizes)})"))
        lines.append(("Verdict", real.get("verdict", "")))
        if real.get("scored"):
            lines.append(("Scored", "inside the CT field of view (the inscribed circle the geometry measures)"))
    elif card.get("real_metrics") is not None:
        lines.append(("Real scans", "not evaluated: " + ("; ".join(real.get("not_installed", [])) or "no slice")))
    clean = card.get("clean_metrics") or {}
    if "ssim" in clean:
        lines.append(("Phantoms", f"{_pair(clean, 'ssim', 3)}, {_pair(clean, 'psnr', 1, ' dB')} on "
                                  f"{clean.get('held_out_images', '?')} held-out phantoms"))
    return lines
