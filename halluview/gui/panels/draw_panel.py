"""DRAW: the region tools (rectangle, ellipse, polygon, brush), the lesion tools (insert a spot or a line, remove a
lesion), undo / redo."""
from __future__ import annotations

from functools import partial

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QButtonGroup, QGroupBox, QHBoxLayout, QPushButton, QVBoxLayout

from . import form

REGION_TOOLS = [  # (tool name, label, shortcut, plain-words tooltip)
    ("none", "Pan", "N", "Navigate: drag to pan, wheel to zoom"),
    ("rect", "▭", "R", "Drag a rectangle over the region that matters"),
    ("ellipse", "◯", "E", "Drag an ellipse over the region that matters"),
    ("polygon", "⬠", "P", "Drag around the region: the outline closes by itself"),
    ("brush", "Brush", "B", "Paint a region freehand"),
]
LESION_TOOLS = [
    ("lesion-disc", "◉ Spot", "L", "Drag from the centre outwards: a small bright spot the attack should try to make "
                                   "appear (insert a disc lesion)"),
    ("lesion-line", "╱ Line", "", "Drag along it: a thin bright line (a tear or fracture) the attack should try to "
                                  "make appear (insert a line lesion)"),
    ("remove-lesion", "Remove lesion", "", "Paint over a feature the attack should try to make disappear"),
]
AREA_TIP = "The size of the drawn region; a patch attack may only change these pixels, up to the largest patch allowed"


def _row(layout: QVBoxLayout) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setSpacing(3)
    layout.addLayout(row)
    return row


class DrawPanel(QGroupBox):
    """Tool buttons bound to a :class:`~halluview.gui.drawing.DrawingController`: the active tool is the one
    checked button."""

    def __init__(self, session, drawing, parent=None):
        super().__init__(parent)
        form.style_section(self, "Draw")
        self.session, self.drawing = session, drawing
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(4)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons = {}
        rows = [_row(layout) for _ in range(3)]
        for row, tools in zip(rows, (REGION_TOOLS, LESION_TOOLS)):
            for tool, label, shortcut, tip in tools:
                button = form.toggle(label, f"{tip} ({shortcut})" if shortcut else tip)
                if shortcut:
                    button.setShortcut(QKeySequence(shortcut))
                button.clicked.connect(partial(drawing.set_tool, tool))
                self.group.addButton(button)
                self.buttons[tool] = button
                row.addWidget(button, 2 if tool == "remove-lesion" else 1)
        self.buttons[drawing.tool].setChecked(True)
        self.undo_button, self.redo_button = QPushButton("↶"), QPushButton("↷")
        rows[0].addSpacing(6)
        for button, key, tip in ((self.undo_button, QKeySequence.Undo, "Undo the last drawing"),
                                 (self.redo_button, QKeySequence.Redo, "Redo what was undone")):
            button.setShortcut(key)
            button.setToolTip(f"{tip} ({QKeySequence(key).toString(QKeySequence.NativeText)})")
            button.setFixedWidth(28)
            rows[0].addWidget(button)
        self.area_label = form.ElidedLabel("no region drawn", AREA_TIP)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove every drawn region")
        rows[2].addWidget(self.area_label, 1)
        rows[2].addWidget(self.clear_button)
        self.undo_button.clicked.connect(drawing.undo)
        self.redo_button.clicked.connect(drawing.redo)
        self.clear_button.clicked.connect(self._clear)
        drawing.toolChanged.connect(self._on_tool)
        session.regionsChanged.connect(self._refresh)
        session.settingsChanged.connect(self._refresh)  # the patch budget
        session.previewReady.connect(lambda _: self._refresh())
        self._refresh()

    def _pixel_spacing_mm(self) -> tuple[float, float] | None:
        """Spacing of the displayed reconstruction: the scan's, scaled when the slice was resized."""
        scan, shape = self.session.scan, self.session.image_shape()
        if scan is None or shape is None:
            return None
        rows, cols = scan.volume.shape[-2:]  # the shape alone: lazy volumes are not read
        return scan.spacing_mm[1] * rows / shape[0], scan.spacing_mm[2] * cols / shape[1]

    def _clear(self) -> None:
        self.session.regions.clear()
        self.session.regions_edited()

    def _on_tool(self, tool: str) -> None:
        self.buttons[tool].setChecked(True)

    def _refresh(self) -> None:
        regions = self.session.regions
        self.undo_button.setEnabled(regions.can_undo)
        self.redo_button.setEnabled(regions.can_redo)
        self.clear_button.setEnabled(bool(regions.shapes))
        pixels, mm2 = self.drawing.patch_area_px(self._pixel_spacing_mm())
        if not pixels:
            self.area_label.set_full_text("no region drawn")
            return
        budget = self.session.experiment.threat.patch_area_px
        text = f"region: {pixels} px" + (f" ({mm2:.1f} mm²)" if mm2 else "")
        if budget:
            text += f" of {budget} px allowed" + (" — too large" if pixels > budget else "")
        self.area_label.set_full_text(text)
