"""The user errors the core raises, in words every front end can show (a leaf module: it imports nothing).

A message says what is wrong ("the 'insert' objective needs a region"); what the user can do about it depends on
where they are, so it travels beside the message as a hint per front end: the CLI appends its hint ("pass --region
X,Y,W,H"), the app its own ("draw one on the image"). :func:`message_for` joins them.
"""
from __future__ import annotations

from collections.abc import Mapping

CLI, APP = "cli", "app"
"""The front ends a hint can be written for."""


class ExperimentError(ValueError):
    """Settings that cannot run: the message is one line for the user, free of any front end's vocabulary.

    Parameters
    ----------
    message : str
        What is wrong, in words that fit the CLI and the app alike.
    hints : mapping of str to str, optional
        What the user of each front end (:data:`CLI`, :data:`APP`) can do about it.
    """

    def __init__(self, message: str, hints: Mapping[str, str] | None = None):
        super().__init__(message)
        self.hints = dict(hints or {})


def message_for(error: BaseException, front_end: str) -> str:
    """``error``'s message with the hint for ``front_end`` appended ("…: pass --region X,Y,W,H"), if it has one."""
    message = str(error) or type(error).__name__
    hint = (getattr(error, "hints", None) or {}).get(front_end)
    return f"{message}: {hint}" if hint else message


NEEDS_REGION = {CLI: "pass --region X,Y,W,H (or --region-ellipse, --region-mask)", APP: "draw one on the image"}
NEEDS_LINE_ENDS = {CLI: "give --lesion-line X0,Y0,X1,Y1", APP: "draw it with the line tool"}
NEEDS_WEIGHTS = {CLI: "pass --weights PATH", APP: "choose the file in the model panel"}
FILE_BRINGS_COILS = {CLI: "drop --coils", APP: "leave the coils to the file"}
NO_SUCH_DEVICE = {CLI: "use --device cpu (or auto)", APP: "pick cpu (or auto) as the device"}
BY_TRANSFER = {CLI: "attack it by transfer instead (--surrogate NAME)",
               APP: "attack it by transfer instead (\"Attacked via\" in the model panel)"}
ALLOW_PICKLE = {CLI: "load it only if you trust its source (--allow-pickle)",
                APP: "the app asks before loading such a file; say yes only if you trust its source"}
