"""RUN HISTORY: every attack of this session; the run on screen is highlighted, a click shows another, two selected
runs can be compared."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractItemView, QGroupBox, QListWidget, QListWidgetItem, QPushButton, QWidget

from ..session import RunRecord, Session
from . import form

COMPARE_TIP = "Select two runs (Ctrl-click) to see them side by side."


def row_text(record: RunRecord) -> str:
    """The run's label; a transfer attack's says first (rows elide their middle) which surrogate the perturbation
    was found on."""
    surrogate, label = record.experiment.get("surrogate"), record.label
    if not surrogate or "transfer from" in label:  # a direct attack, or a label that says it already
        return label
    number = f"#{record.number} "
    rest = label.removeprefix(number)
    return f"{number}transfer from {surrogate} · {rest}" if rest != label else f"transfer from {surrogate} · {label}"


class HistoryPanel(QGroupBox):
    """The session's runs (``session.runs``), newest last.

    Signals
    -------
    compareRequested(object, object) : the two selected RunRecords, in the order they were run.
    """

    compareRequested = Signal(object, object)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        layout = form.section(self, "Run history")
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.list.setToolTip("Each attack of this session. Click one to show its images and numbers again.")
        self.list.setMinimumHeight(70)
        self.list.setTextElideMode(Qt.ElideMiddle)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # elide long labels; the tooltip has all
        layout.addRow(self.list)
        self.compare_button = QPushButton("Compare two runs")
        self.compare_button.setToolTip(COMPARE_TIP)
        layout.addRow(self.compare_button)
        self.compare_action = QAction("Compare the two selected runs", self)
        self.compare_action.setToolTip(COMPARE_TIP)
        self.list.addAction(self.compare_action)
        self.list.setContextMenuPolicy(Qt.ActionsContextMenu)

        self.list.itemClicked.connect(self._clicked)
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.compare_button.clicked.connect(self.compare)
        self.compare_action.triggered.connect(self.compare)
        session.historyChanged.connect(self.refresh)
        session.runStarted.connect(self._run_started)
        session.selectedRunChanged.connect(self._show_selected)
        self.refresh()

    def records(self) -> list[RunRecord]:
        """The selected runs, in the order they were run."""
        return [item.data(Qt.UserRole) for item in sorted(self.list.selectedItems(), key=self.list.row)]

    def compare(self) -> None:
        selected = self.records()
        if len(selected) == 2:
            self.compareRequested.emit(*selected)

    def _clicked(self, item: QListWidgetItem) -> None:
        if len(self.list.selectedItems()) <= 1:  # a Ctrl-click that builds a comparison does not switch the view
            self.session.select_run(item.data(Qt.UserRole))

    def _selection_changed(self) -> None:
        can_compare = len(self.list.selectedItems()) == 2
        self.compare_button.setEnabled(can_compare)
        self.compare_action.setEnabled(can_compare)

    def refresh(self) -> None:
        """List ``session.runs`` again (labels carry the status), keeping the selection (emits nothing)."""
        kept = {id(r) for r in self.records()} or {id(self.session.selected)}
        with form.blocked(self.list):
            self.list.clear()
            for record in self.session.runs:
                text = row_text(record)
                item = QListWidgetItem(text)
                item.setData(Qt.UserRole, record)
                item.setToolTip(text)
                self.list.addItem(item)
                item.setSelected(id(record) in kept)
        self._selection_changed()

    def _run_started(self, record: RunRecord) -> None:
        self.refresh()
        self._show_selected(record)  # the new run is the one on screen

    def _show_selected(self, record: RunRecord | None) -> None:
        """Highlight the run on screen only (none for None)."""
        with form.blocked(self.list):
            for row in range(self.list.count()):
                item = self.list.item(row)
                item.setSelected(item.data(Qt.UserRole) is record)
                if item.isSelected():
                    self.list.scrollToItem(item)
        self._selection_changed()
