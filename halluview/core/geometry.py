"""The slice's geometry as attacked: its own size and pixel spacing, and the working size when the user chose one.

Attacks run at the slice's own size and aspect ratio unless a working size is chosen (``image_size``: the longer
side, aspect ratio kept) for speed; the report, the CLI summary and the app state both sizes and both spacings.
Non-square CT slices are zero-padded to a square for the geometry (:class:`~halluview.core.physics.square.
SquarePadded`), never resized; that is recorded too.
"""
from __future__ import annotations


def working_shape(shape: tuple[int, int], size: int | None) -> tuple[int, int]:
    """The (rows, columns) a slice of ``shape`` is simulated at: its own, or ``size`` on the longer side."""
    rows, cols = int(shape[0]), int(shape[1])
    if size is None or max(rows, cols) == size:
        return rows, cols
    scale = size / max(rows, cols)
    return max(1, round(rows * scale)), max(1, round(cols * scale))


def geometry(shape, spacing_mm, image_size: int | None, operator_kind: str | None = None) -> dict:
    """The record of what was attacked, in pixels and mm: ``shape`` and ``spacing_mm`` ((row, column) mm, or
    empty when unknown) of the slice as the file holds it, and ``image_size`` (None: its own size)."""
    if not shape or not all(shape):
        return {}
    working = working_shape(shape, image_size)
    spacing = [float(s) for s in spacing_mm] if spacing_mm else None
    record = {"original_size": [int(shape[0]), int(shape[1])], "working_size": list(working),
              "resized": list(working) != [int(shape[0]), int(shape[1])], "pixel_spacing_mm": spacing,
              "working_spacing_mm": None, "padded_to_square": None}
    if spacing:
        record["working_spacing_mm"] = [spacing[0] * shape[0] / working[0], spacing[1] * shape[1] / working[1]]
    if operator_kind == "ct" and working[0] != working[1]:
        record["padded_to_square"] = max(working)
    return record


def display_frame(config: dict) -> tuple[int, int] | None:
    """The scan's own (rows, columns) when a run or preview was made at a chosen working size (the app shows its
    images stretched over the scan's pixels, so regions are drawn in the scan's coordinates); None otherwise."""
    source, facts = config.get("source") or {}, config.get("scan_facts") or {}
    shape = facts.get("shape")
    if source.get("image_size") is None or not shape:
        return None
    if working_shape(shape, source["image_size"]) == (int(shape[0]), int(shape[1])):
        return None
    return int(shape[0]), int(shape[1])


def _mm(spacing) -> str:
    """(row, column) spacing as a reader reads sizes: width × height."""
    return f"{spacing[1]:.3g}×{spacing[0]:.3g} mm" if spacing else "pixel spacing unknown"


def geometry_words(record: dict) -> str:
    """e.g. "512×512 px at 0.479×0.479 mm, attacked at its own size" or "… resized to 128×128 (1.91×1.91 mm)".
    Sizes in words are width × height, as the app's Scan panel gives them (the record's lists are rows, columns)."""
    if not record:
        return ""
    rows, cols = record["original_size"]
    words = f"{cols}×{rows} px at {_mm(record['pixel_spacing_mm'])}"
    if record["resized"]:
        wr, wc = record["working_size"]
        words += f", resized to {wc}×{wr} ({_mm(record['working_spacing_mm'])}) by choice"
    else:
        words += ", attacked at its own size"
    if record.get("padded_to_square"):
        side = record["padded_to_square"]
        words += f"; zero-padded to {side}×{side} for the CT geometry"
    return words


def lesion_on_grid(lesion: dict | None, scan_shape: tuple[int, int], grid_shape: tuple[int, int]) -> dict | None:
    """A lesion drawn in the scan's pixels (x = column, y = row, pixel centres at whole numbers) on the working
    grid: positions and sizes scaled by the grid's pixels per scan pixel."""
    if not lesion:
        return lesion
    sy, sx = grid_shape[0] / scan_shape[0], grid_shape[1] / scan_shape[1]
    out = dict(lesion)
    for key in ("center_xy", "start_xy", "end_xy"):
        if out.get(key) is not None:
            x, y = out[key]
            out[key] = [(x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5]
    for key in ("radius_px", "width_px"):
        if out.get(key) is not None:
            out[key] = out[key] * (sx + sy) / 2
    return out


def region_extent(mask, spacing_mm) -> dict:
    """The region's size and place in the scan's pixels and in mm (from the slice's top-left pixel corner)."""
    import numpy as np

    rows, cols = np.nonzero(mask)
    record = {"coordinates": "the scan's own pixels (x = column, y = row)", "area_px": int(rows.size),
              "bounding_box_px": [int(cols.min()), int(rows.min()), int(np.ptp(cols)) + 1, int(np.ptp(rows)) + 1]}
    if spacing_mm:
        dy, dx = spacing_mm
        x, y, w, h = record["bounding_box_px"]
        record["area_mm2"] = float(rows.size * dx * dy)
        record["bounding_box_mm"] = [x * dx, y * dy, w * dx, h * dy]
    return record
