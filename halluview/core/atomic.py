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


PARTIAL = ".partial-"  # marks a folder being written: .<name>.partial-<pid>


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_partials(target: Path) -> None:
    """Folders a killed process left half-written beside ``target`` (their writer is gone): remove them."""
    import shutil

    for stale in target.parent.glob(f".{target.name}{PARTIAL}*"):
        pid = stale.name.rsplit(PARTIAL, 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a hidden folder beside ``path`` to fill; on success it becomes ``path`` in one rename, so a run folder
    appears whole or not at all. ``path`` must not exist, or be an empty folder. On any failure (a full disk, an
    interrupt) the partial folder is removed; one left by a killed process is removed by the next write."""
    import shutil

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target)
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    if target.exists():
        raise FileExistsError(f"{target}: already exists and is not an empty folder")
    partial = target.parent / f".{target.name}{PARTIAL}{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=0o700)
    try:
        yield partial
        os.chmod(partial, ordinary_mode(directory=True))
        os.rename(partial, target)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
