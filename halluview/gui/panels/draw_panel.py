"""DRAW: the region tools (rectangle, ellipse, polygon, brush), the lesion tools (insert a spot or a line, remove a
lesion), undo / redo."""
from __future__ import annotations

from functools import partial

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QGroupBox, QLabel, QPushButton

from . import form

REGION_TOOLS = [  # (tool name, label, shortcut, plain-words tooltip)
    ("none", "Pan", "N", "Navigate: drag to pan, wheel to zoom"),
    ("rect", "▭", "R", "Draw a rectangular region that matters"),
    ("ellipse", "◯", "E", "Draw an elliptical region"),
    ("polygon", "⬠", "P", "Draw a polygon: click corners, double-click to close"),
    ("brush", "Brush", "B", "Paint a region freehand"),
]
LESION_TOOLS = [
    ("lesion-disc", "◉ Spot", "L", "Drag from the centre outwards: a small bright spot the attack should try to make "
                                   "appear (insert a disc lesion)"),
    ("lesion-line", "╱ Line", "", "Drag along it: a thin bright line (a tear or fracture) the attack should try to "
                                  "make appear (insert a line lesion)"),
    ("remove-lesion", "Remove lesion", "", "Paint over a feature the attack should try to make disappear"),
]
TOOLS = REGION_TOOLS + LESION_TOOLS


class DrawPanel(QGroupBox):
    """Tool buttons bound to a :class:`~halluview.gui.drawing.DrawingController`: the active tool is the one
    checked button."""

    def __init__(self, session, drawing, parent=None):
        super().__init__(parent)
        form.style_section(self, "Draw")
        self.session, self.drawing = session, drawing
        layout = QGridLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setHorizontalSpacing(3)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons = {}
        columns = 15  # grid columns: the region tools take 3 each, the lesion tools 4, 4 and 7 (the longest label)
        for row, (tools, spans) in enumerate(((REGION_TOOLS, (3,) * 5), (LESION_TOOLS, (4, 4, 7)))):
            column = 0
            for (tool, label, shortcut, tip), span in zip(tools, spans):
                button = form.toggle(label, f"{tip} ({shortcut})" if shortcut else tip)
                if shortcut:
                    button.setShortcut(QKeySequence(shortcut))
                button.clicked.connect(partial(drawing.set_tool, tool))
                self.group.addButton(button)
                self.buttons[tool] = button
                layout.addWidget(button, row, column, 1, span)
                column += span
        for column in range(columns):
            layout.setColumnStretch(column, 1)
        self.buttons[drawing.tool].setChecked(True)
        self.undo_button, self.redo_button, self.clear_button = (QPushButton("Undo"), QPushButton("Redo"),
                                                                 QPushButton("Clear"))
        self.undo_button.setShortcut(QKeySequence.Undo)
        self.redo_button.setShortcut(QKeySequence.Redo)
        self.clear_button.setToolTip("Remove every drawn region")
        self.undo_button.clicked.connect(drawing.undo)
        self.redo_button.clicked.connect(drawing.redo)
        self.clear_button.clicked.connect(self._clear)
        for i, button in enumerate((self.undo_button, self.redo_button, self.clear_button)):
            layout.addWidget(button, 2, i * 5, 1, 5)
        self.area_label = QLabel("no region drawn")
        self.area_label.setToolTip("Size of the drawn region; a patch attack may only touch these pixels")
        layout.addWidget(self.area_label, 3, 0, 1, columns)
        drawing.toolChanged.connect(self._on_tool)
        session.regionsChanged.connect(self._refresh)
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
        if tool in self.buttons:
            self.buttons[tool].setChecked(True)

    def _refresh(self) -> None:
        regions = self.session.regions
        self.undo_button.setEnabled(regions.can_undo)
        self.redo_button.setEnabled(regions.can_redo)
        self.clear_button.setEnabled(bool(regions.shapes))
        pixels, mm2 = self.drawing.patch_area_px(self._pixel_spacing_mm())
        if not pixels:
            self.area_label.setText("no region drawn")
            return
        budget = self.session.experiment.threat.patch_area_px
        text = f"region: {pixels} px" + (f" ({mm2:.1f} mm²)" if mm2 else "")
        if budget:
            text += f" of a {budget} px patch budget" + (" — too large" if pixels > budget else "")
        self.area_label.setText(text)
