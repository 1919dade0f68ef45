"""The clinical rows of the metrics table in words: what VIF, segment RMSE, radiomic feature similarity and the
change's high-frequency share mean for a clinician, which segments they ran over, and where MaxSRMSE is.

Everything here formats numbers of an :class:`~halluview.core.attacks.run.AttackResult` (computed once, at the end
of an attack, by :mod:`halluview.core.quality`); nothing is computed.
"""
from __future__ import annotations

from pathlib import Path

from ...core.geometry import display_frame

AT_THE_END = "Computed once, when the attack ends: “—” while it runs."
CLINICAL_ROWS = (
    ("vif", "VIF", "Visual information fidelity: how much of the visual information of the image it is compared "
                   "with survives (Sheikh & Bovik, pixel domain). 1: all of it; lower: information lost; above 1: "
                   "contrast enhanced. Higher is better."),
    ("srmse_mean", "MeanSRMSE", "Segment RMSE, averaged: the image is cut into small patches of similar tissue "
                                "(segments) and the error is measured in each; this is their mean, in image units. "
                                "Lower is better; 0: identical."),
    ("srmse_max", "MaxSRMSE", "The error in the worst segment, in image units: a small structure added or removed "
                              "shows here even when SSIM and PSNR barely move. Lower is better; where it is is said "
                              "below the table."),
    ("rfs", "RFS", "Radiomic feature similarity: per segment, intensity and texture statistics (radiomic features) "
                   "of the two images are compared (cosine similarity), then averaged. 1: the same texture; lower: "
                   "the tissue's texture changed. Higher is better."),
)
HF_SHARE = ("hf_share", "HF share of Δ",
            "Does the change look like noise or like structure? The share of the change's energy in fine detail "
            "(above half the finest frequency the pixels can show). Random noise puts about 0.80 there; a smooth, "
            "blob-like structure (a lesion added or removed) puts almost none. 'vs clean': the attack's change "
            "f(y+δ) − f(y); noise column: the mean over the noise draws' changes.")
WHOLE = "*"  # marks a whole-image value in an in-region column (its tooltip says so)
WHOLE_TIP = ("Over the whole image: this metric has no in-region variant; compare it with the 'vs clean' column, "
             "not with the in-region numbers.")


def segments_words(result) -> str:
    """"Computed over 85 segments of the reference (automatic over-segmentation, SLIC)." — or "" without them."""
    segmentation = (result.clinical or {}).get("segmentation")
    if not segmentation:
        return ""
    count = segmentation.get("segments", 0)
    image = "the reference" if "vs_reference" in result.metrics else "the un-attacked reconstruction (no reference)"
    if segmentation.get("method") == "file":
        how = f"from the label file {Path(segmentation['parameters']['file']).name}"
    else:
        how = "automatic over-segmentation, SLIC"
    return f"Computed over {count} segment{'s' if count != 1 else ''} of {image} ({how})."


def _in_panels(row: float, column: float, result) -> tuple[float, float]:
    """A position on the reconstruction's grid in the panels' coordinates (the scan's pixels at a working size)."""
    frame = display_frame(result.config or {})
    if frame is None:
        return row, column
    height, width = result.clean.shape[-2:]
    return (row + 0.5) * frame[0] / height - 0.5, (column + 0.5) * frame[1] / width - 0.5


def _where(entry: dict, against: str, result, number) -> str:
    row, column = _in_panels(entry["row"], entry["column"], result)
    return (f"MaxSRMSE against {against} ({number('srmse_max', entry['srmse'])}): the segment of "
            f"{entry['pixels']} pixels around row {row:.0f}, column {column:.0f}")


def worst_segment_words(result, number) -> str:
    """Where MaxSRMSE is, vs the clean reconstruction (what the attack changed most) and vs the reference; "" when
    the result has no segments. ``number(key, value)`` formats a value as the table does."""
    worst = (result.clinical or {}).get("worst_segment") or {}
    parts = [_where(worst[anchor], against, result, number) for anchor, against in
             (("vs_clean", "the un-attacked reconstruction"), ("vs_reference", "the reference")) if worst.get(anchor)]
    return ".\n".join(parts) + ("." if parts else "")
