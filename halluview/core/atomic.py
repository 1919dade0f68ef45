"""Atomic file writing for everything HalluView saves: a temporary file beside the target, then a rename, so
an interrupted write never leaves half a file."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def process_umask() -> int:
    """The process umask, read without changing it (Linux ``/proc``); 0o022 where it cannot be read."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def ordinary_mode(directory: bool = False) -> int:
    """Permissions a plainly created file (or folder) would get: temporary ones are private until replaced."""
    return (0o777 if directory else 0o666) & ~process_umask()


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (same suffixes); on success it replaces ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".nii.gz") else path.suffix
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, ordinary_mode())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    target = Path(path)
    with atomic_file(target) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return target
