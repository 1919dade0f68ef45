"""What the CLI's commands share: the core's user errors as one line for the user, reading the scan, threads."""
from __future__ import annotations

from .cli_arguments import CliError


def user_errors():
    from .core.io import ScanReadError
    from .core.recon.checkpoints import CheckpointError

    return ValueError, KeyError, FileNotFoundError, CheckpointError, ScanReadError


def user_message(err: BaseException) -> str:
    """The error in the CLI's words: the core's message with its hint for the CLI ("…: pass --region X,Y,W,H")."""
    from .core.errors import CLI, message_for

    return str(err.args[0]) if isinstance(err, KeyError) and err.args else message_for(err, CLI)


def load_scan(experiment):
    """The scan, read before any attack work (a file's slices are read lazily, when they are used)."""
    from .core.problem import load_source

    try:
        return load_source(experiment)
    except user_errors() as err:
        raise CliError(user_message(err)) from None


def checked(check, *args):
    """``check(*args)``, an ExperimentError (a user error the core found) as a CliError."""
    from .core.validation import ExperimentError

    try:
        return check(*args)
    except ExperimentError as err:
        raise CliError(user_message(err)) from None


def use_threads(threads: int | None) -> None:
    """torch's thread count: ``--threads`` as given, else :func:`~halluview.core.threads.choose_threads`'s."""
    from .core.threads import set_threads, use_chosen

    if threads is None:
        use_chosen()
        return
    if threads < 1:
        raise CliError(f"--threads must be at least 1, not {threads}")
    set_threads(threads, f"{threads} given with --threads")


