"""Qt-free events for the core's models (napari's ``EmitterGroup`` in miniature): a model announces a change, any
front end (the app's Qt adapter, a test, a script) connects callbacks to it.

    events = EventGroup("scan", "slice")
    events.slice.connect(print)
    events.slice.emit(3)      # calls print(3)

Callbacks run synchronously, in the order they were connected, on the emitting thread.
"""
from __future__ import annotations

from typing import Callable


class Event:
    """One kind of change and the callbacks that listen to it."""

    def __init__(self, name: str):
        self.name = name
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> Callable:
        """Call ``callback(*args)`` on every :meth:`emit`; returns it (usable as a decorator)."""
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable) -> None:
        """Stop calling ``callback``; a callback that is not connected is an error, as in Qt."""
        self._callbacks.remove(callback)

    def emit(self, *args) -> None:
        for callback in list(self._callbacks):  # a callback may disconnect itself
            callback(*args)

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {len(self._callbacks)} callbacks)"


class EventGroup:
    """The events of one model, as attributes: ``group.<name>`` is an :class:`Event`."""

    def __init__(self, *names: str):
        self.names = names
        for name in names:
            setattr(self, name, Event(name))

    def __iter__(self):
        return (getattr(self, name) for name in self.names)
