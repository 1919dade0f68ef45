"""Opening a file or folder: list what it holds (in the background), ask when there is a choice, then load."""
from __future__ import annotations

from PySide6.QtWidgets import QInputDialog


def open_with_choice(window, path: str) -> None:
    """List the contents of ``path`` in a worker; on the main thread ask which one, then load it."""
    from ..core.io import list_contents  # the readers (pydicom, nibabel, h5py) load on first use

    session = window.session

    def on_listed(key, choices) -> None:
        if key != ("contents", path):
            return
        session.jobs.loaded.disconnect(on_listed)
        choose = getattr(window, "choose_content", pick)  # a headless screenshot answers without a dialog
        choice = choose(window, path, choices)
        if choice is not None:
            session.open_path(path, choice)

    session.jobs.loaded.connect(on_listed)
    session.jobs.run(("contents", path), list_contents, path)


def first_choice(path: str, choices: list) -> tuple[dict, str | None]:
    """What opening without asking takes: the first of several scans (the one the dialog offers first) and its
    label, or ({}, None) when there is nothing to choose."""
    if len(choices) <= 1:
        return {}, None
    return {choices[0].kind: choices[0].key}, choices[0].label


def pick(parent, path: str, choices: list) -> dict | None:
    """{} when there is nothing to choose, the chosen {kind: key}, or None when the user cancels."""
    if len(choices) <= 1:
        return {}
    labels = [c.label for c in choices]
    label, ok = QInputDialog.getItem(parent, "Choose what to open", f"{path} holds several scans:", labels, 0,
                                     False)
    if not ok:
        return None
    chosen = choices[labels.index(label)]
    return {chosen.kind: chosen.key}
