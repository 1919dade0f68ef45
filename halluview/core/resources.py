"""Where the shipped data lives: ``resources/`` beside the package in a checkout, inside it when installed."""
from __future__ import annotations

from pathlib import Path

_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "resources",   # source checkout / editable install
    Path(__file__).resolve().parents[1] / "resources",   # wheel: packaged as halluview/resources
)


def resources_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("HalluView's resources folder is missing; reinstall the package")


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
