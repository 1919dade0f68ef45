"""Display presets kept as data: CT window / level settings in Hounsfield units, with their published source.

They are only offered for data in HU (``scan.units == "HU"``): a window in HU means nothing on MR intensities.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from ..core.resources import resource_path
from ..core.scan import Scan


@dataclass(frozen=True)
class WindowPreset:
    """One display window: the grey ramp spans ``level_hu ± width_hu / 2``."""

    name: str
    width_hu: float
    level_hu: float

    @property
    def label(self) -> str:
        return f"{self.name}  (W {self.width_hu:g}, L {self.level_hu:g})"


@dataclass(frozen=True)
class WindowPresets:
    source: str
    presets: tuple[WindowPreset, ...]


@functools.lru_cache(maxsize=1)
def ct_windows() -> WindowPresets:
    """The shipped CT window presets (``resources/presets/ct_windows.json``), checked on reading.

    Raises
    ------
    ValueError
        When the file lacks its source or a preset has no name or a non-positive width.
    """
    data = json.loads(resource_path("presets", "ct_windows.json").read_text(encoding="utf-8"))
    source = str(data.get("source", "")).strip()
    if not source:
        raise ValueError("ct_windows.json must say where its values come from ('source')")
    presets = []
    for item in data["presets"]:
        preset = WindowPreset(str(item["name"]), float(item["width_hu"]), float(item["level_hu"]))
        if not preset.name or not preset.width_hu > 0:
            raise ValueError(f"bad CT window preset in ct_windows.json: {item!r}")
        presets.append(preset)
    return WindowPresets(source, tuple(presets))


def presets_for(scan: Scan | None) -> tuple[WindowPreset, ...]:
    """The window presets that make sense for ``scan``: the CT ones for HU data, none otherwise."""
    if scan is None or scan.units != "HU":
        return ()
    return ct_windows().presets
