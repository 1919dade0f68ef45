"""Safe checkpoint reading: tensors only, never pickled code unless the user explicitly allows it.

Before ``torch.load`` sees a file, :func:`check_checkpoint_file` refuses what would hang or exhaust memory: FIFOs,
sockets and devices (opening a FIFO blocks), and zip archives (the format of ``torch.save`` and TorchScript) whose
members would inflate beyond the memory limit or overlap (several members reading the same compressed bytes, a zip
bomb), judged from the archive's directory alone.
"""
from __future__ import annotations

import os
import pickle
import pickletools
import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from ..errors import ALLOW_PICKLE


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message names the file and says why in plain words."""

    def __init__(self, path: str | Path, reason: str, hints: dict | None = None):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.hints = str(path), reason, dict(hints or {})


def read_state_dict(path: str | Path, allow_pickle: bool = False) -> dict[str, torch.Tensor]:
    """Read a state_dict (or a Lightning-style {'state_dict': ...} checkpoint) onto the CPU.

    With ``allow_pickle=False`` (the default) the file is read with ``torch.load(weights_only=True)``, which
    refuses arbitrary Python objects, so a malicious checkpoint cannot run code.
    """
    path = Path(path)
    check_checkpoint_file(path)
    try:
        with warnings.catch_warnings():  # torch warns about legacy pickle protocols; our message says what matters
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except pickle.UnpicklingError:
        if not _is_pickle(path):  # torch's safe loader says the same of any bytes that are not a checkpoint
            raise CheckpointError(path, "not a readable PyTorch checkpoint (neither a zip archive nor a pickle)"
                                  ) from None
        raise CheckpointError(path, "it holds pickled Python objects, not just tensors, and loading it could run "
                                    "code", ALLOW_PICKLE) from None  # torch's own text only repeats this
    except Exception as err:  # noqa: BLE001 - any reader failure becomes one clear message
        raise CheckpointError(path, f"not a readable PyTorch checkpoint ({type(err).__name__}: {err})") from None
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(path, "it does not hold a state_dict (a mapping of parameter names to tensors)")
    return obj


def _is_pickle(path: Path) -> bool:
    """Whether ``path`` is a zip archive or starts with a whole pickle; the opcodes are parsed, never run."""
    with open(path, "rb") as stream:
        if zipfile.is_zipfile(stream):
            return True
        stream.seek(0)
        try:
            for _ in pickletools.genops(stream):
                pass
        except Exception:  # noqa: BLE001 - any parse failure means: not a pickle
            return False
    return True


def check_checkpoint_file(path: str | Path) -> None:
    """Refuse, without loading it, a weights file that would hang or inflate beyond the memory limit.

    Raises
    ------
    CheckpointError
        If the path is missing or not a regular file, or a zip archive declares more uncompressed bytes than the
        memory limit (``halluview.core.io.limits``) or members that overlap.
    """
    from ..io.guards import human_bytes, volume_byte_limit
    from ..io.limits import limit_advice, non_regular_reason, open_regular_file

    try:
        reason = non_regular_reason(path)
        with open_regular_file(path) as stream:
            if not zipfile.is_zipfile(stream):
                return
            size = os.fstat(stream.fileno()).st_size
            members = zipfile.ZipFile(stream).infolist()
    except FileNotFoundError:
        raise CheckpointError(path, "no such file") from None
    except (OSError, zipfile.BadZipFile) as err:
        raise CheckpointError(path, reason or f"it cannot be read ({err})") from None
    inflated, stored = sum(m.file_size for m in members), sum(m.compress_size for m in members)
    if stored > size:
        raise CheckpointError(path, f"its zip members claim {stored} stored bytes in a {size}-byte file: they overlap "
                                    "(a zip bomb?)")
    limit = volume_byte_limit()
    if inflated > limit:
        raise CheckpointError(path, f"its tensors would need {human_bytes(inflated)} of memory, more than the "
                                    f"{human_bytes(limit)} limit ({limit_advice()})")


def load_into(module: nn.Module, state: dict[str, torch.Tensor], path: str | Path, prefix: str = "",
              architecture: str = "") -> None:
    """Load ``state`` strictly, stripping ``prefix`` if every key has it; list missing / unexpected keys.

    ``architecture`` names the network in the messages (e.g. "fastMRI U-Net, 16 channels, 4 pools")."""
    if prefix and state and all(k.startswith(prefix) for k in state):
        state = {k[len(prefix):]: v for k, v in state.items()}
    check_fits(module, state, path, architecture)
    module.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)


def check_fits(module: nn.Module, state: dict[str, torch.Tensor], path: str | Path, architecture: str = "") -> None:
    """Refuse a ``state`` whose names or shapes differ from ``module``'s (which may live on the meta device).

    Raises
    ------
    CheckpointError
        Listing the missing and unexpected names, or the first tensors whose shapes differ, in one line.
    """
    what = f"the architecture ({architecture})" if architecture else "the architecture"
    expected = set(module.state_dict())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise CheckpointError(path, f"its parameter names do not match {what}. "
                                    f"Missing: {missing[:8]}{' …' if len(missing) > 8 else ''}; "
                                    f"unexpected: {unexpected[:8]}{' …' if len(unexpected) > 8 else ''}.")
    wanted = module.state_dict()
    differ = [k for k in sorted(state) if tuple(state[k].shape) != tuple(wanted[k].shape)]
    if differ:  # one line naming the tensors, not torch's page of size-mismatch lines
        shown = ", ".join(f"{k} (file {_dims(state[k])}, architecture {_dims(wanted[k])})" for k in differ[:3])
        raise CheckpointError(path, f"its tensor shapes do not match {what}: {shown}"
                                    f"{f' and {len(differ) - 3} more' if len(differ) > 3 else ''}.")


def _dims(tensor: torch.Tensor) -> str:
    return "×".join(str(n) for n in tensor.shape) or "scalar"
