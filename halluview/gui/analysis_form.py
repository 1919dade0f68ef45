"""An analysis's settings as a form, generated from its core Config (the fields, their defaults, their words and
ranges are written once, in core): a spin box per number, a tick box per yes/no, a list per choice, a line of
comma-separated values per list. The values go back to core through
:func:`halluview.core.analyses.registry.config_from`, which checks them."""
from __future__ import annotations

import math
from dataclasses import MISSING, fields

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLineEdit, QSpinBox, QWidget

from ..core.analyses.registry import parse_list

_LARGE = 1e9


def field_default(item):
    return item.default if item.default is not MISSING else item.default_factory()


def _label(name: str, unit: str | None) -> str:
    words = name.replace("_", " ")
    for suffix in (" deg", " px", " percent"):
        words = words.removesuffix(suffix)
    return f"{words[:1].upper()}{words[1:]}" + (f" ({unit})" if unit else "")


def _decimals(default: float, meta: dict) -> int:
    """Enough decimals to show the default and the smallest allowed value (1e-6 must not read as 0)."""
    smallest = [abs(v) for v in (default, meta.get("minimum")) if isinstance(v, (int, float)) and v]
    needed = max((3 - math.floor(math.log10(v)) for v in smallest), default=4)
    return int(min(max(meta.get("decimals", 4), needed, 2), 10))


def _number_box(default, meta: dict):
    if isinstance(default, int):
        box = QSpinBox()
        box.setRange(int(meta.get("minimum", -2**31 + 1)), int(meta.get("maximum", 2**31 - 1)))
    else:
        box = QDoubleSpinBox()
        box.setDecimals(_decimals(default, meta))
        box.setRange(float(meta.get("minimum", -_LARGE)), float(meta.get("maximum", _LARGE)))
        box.setSingleStep(abs(default) / 10 if default else 0.1)
    box.setValue(default)
    return box


def _text(values) -> str:
    return ", ".join(":".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v) for v in values)


class AnalysisForm(QWidget):
    """The settings of one analysis (``config_type``); :meth:`values` gives what the user changed as plain data."""

    def __init__(self, config_type: type, parent=None):
        super().__init__(parent)
        self.config_type = config_type
        self.widgets: dict[str, QWidget] = {}
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        for item in fields(config_type):
            default, meta = field_default(item), dict(item.metadata)
            if isinstance(default, bool):
                widget = QCheckBox()
                widget.setChecked(default)
            elif meta.get("choices") and not isinstance(default, (tuple, list)):
                widget = QComboBox()
                for choice in meta["choices"]:
                    widget.addItem(str(choice), choice)
                widget.setCurrentIndex(list(meta["choices"]).index(default))
            elif isinstance(default, (int, float)):
                widget = _number_box(default, meta)
            else:
                widget = QLineEdit(_text(default) if isinstance(default, (tuple, list)) else str(default or ""))
            widget.setToolTip(meta.get("help", ""))
            widget.setObjectName(item.name)
            self.widgets[item.name] = widget
            layout.addRow(_label(item.name, meta.get("unit")), widget)

    def values(self) -> dict:
        """Every field's value as plain data (numbers, booleans, text, lists)."""
        out = {}
        for item in fields(self.config_type):
            widget, default = self.widgets[item.name], field_default(item)
            if isinstance(widget, QCheckBox):
                out[item.name] = widget.isChecked()
            elif isinstance(widget, QComboBox):
                out[item.name] = widget.currentData()
            elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                out[item.name] = widget.value()
            elif isinstance(default, (tuple, list)):
                parsed = parse_list(widget.text())
                out[item.name] = type(default)(tuple(p) if isinstance(p, list) else p for p in parsed)
            else:
                out[item.name] = widget.text() or None
        return out
