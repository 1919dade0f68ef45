"""The analyses by name, for the CLI, the app and the study.

Each analysis module defines

    TITLE        a few words for menus and reports ("Adversarial rotation")
    Config       a dataclass of its settings; every field has a default and ``metadata`` with "help" (plain
                 words, a tooltip and a --help line) and optionally "unit", "minimum", "maximum", "choices";
                 ``__post_init__`` raises ExperimentError (one line) for a value out of range
    run(inputs, config)   a generator of :class:`~.view.AnalysisStep` that returns the result; the result has
                 ``view()`` (an :class:`~.view.AnalysisView`), ``summary()`` (JSON-ready, records the config and
                 the numbers), ``rows()`` (flat dicts for the study table) and ``headline()`` (one line of words)

so that front ends and the study can be written once for all of them.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, fields
from types import ModuleType

from ..errors import ExperimentError

MODULES = {"rotation": "rotations", "features": "features", "invariance": "invariance", "nullspace": "nullspace"}
"""Analysis name → module of this package."""


@dataclass(frozen=True)
class AnalysisSpec:
    name: str
    module: ModuleType

    @property
    def title(self) -> str:
        return self.module.TITLE

    @property
    def config_type(self) -> type:
        return self.module.Config

    def run(self, inputs, config):
        return self.module.run(inputs, config)


def spec(name: str) -> AnalysisSpec:
    if name not in MODULES:
        raise ExperimentError(f"unknown analysis {name!r}; choose one of {', '.join(MODULES)}")
    return AnalysisSpec(name, importlib.import_module(f"{__package__}.{MODULES[name]}"))


def config_from(name: str, values: dict | None = None):
    """The analysis's Config from plain data; an unknown key is an error (a typo must not pass silently)."""
    config_type = spec(name).config_type
    values = dict(values or {})
    known = {f.name for f in fields(config_type)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ExperimentError(f"unknown {name} settings: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    values = {k: _tuples(v) if isinstance(v, list) else v for k, v in values.items()}  # plain data: lists
    try:
        return config_type(**values)
    except TypeError as error:
        raise ExperimentError(f"{name} settings: {error}") from None


def _tuples(value):
    """Lists (from YAML, JSON or the command line) as the tuples a frozen Config holds, nested ones too."""
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def parse_scalar(text: str):
    """A number when the text is one (int before float), else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_list(text: str) -> list:
    """A list setting as the CLI and the app take it: "1, 2, 3" → [1, 2, 3]; "disc, line" → ["disc", "line"];
    "10:20, 30:40" → [[10, 20], [30, 40]] (points as x:y)."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    return [[parse_scalar(p) for p in item.split(":")] if ":" in item else parse_scalar(item) for item in items]
