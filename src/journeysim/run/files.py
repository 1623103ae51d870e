"""Writing files all-or-nothing, with the user's permissions (internal).

Every file journeysim writes goes first to a hidden temporary file beside its
target, ``.journeysim-<random>-<name>``, which is then renamed over the target:
a failure, Ctrl-C or a killed process never leaves a partial file. The temporary
file is created with mode ``0o666`` less the umask, as :func:`open` would, so a
result on a shared drive is as readable as any other file its user makes
(:func:`tempfile.mkstemp` would make it ``0o600``: readable by its owner only).

A target that exists and is neither a regular file nor a folder (``/dev/null``,
a named pipe) is written straight into: renaming over it would replace it.

Examples
--------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> write_atomic(folder / "a.txt", lambda fh: fh.write(b"hello")).read_bytes()
b'hello'
>>> [p.name for p in folder.iterdir()]
['a.txt']
>>> output_problems(folder / "no" / "b.txt", "the JSON")  # doctest: +ELLIPSIS
['.../no/b.txt: cannot write the JSON: directory .../no does not exist']
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["folder_problems", "is_stream", "new_file_beside", "output_problems", "write_atomic"]


def is_stream(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` exists and is neither a regular file nor a folder (a device, a pipe)."""
    p = Path(path)
    return p.exists() and not p.is_file() and not p.is_dir()


def _writable_folder(folder: Path, what: str, path: str | os.PathLike[str]) -> list[str]:
    if not folder.exists():
        return [f"{path}: cannot write {what}: directory {folder} does not exist"]
    if not folder.is_dir():
        return [f"{path}: cannot write {what}: {folder} is not a directory"]
    if not os.access(folder, os.W_OK | os.X_OK):
        return [f"{path}: cannot write {what}: no permission to write in directory {folder}"]
    return []


def output_problems(path: str | os.PathLike[str], what: str) -> list[str]:
    """What stops a file from being written at ``path`` (empty if nothing does).

    Parameters
    ----------
    path : str or path-like
        The file to write.
    what : str
        What it holds, for the messages: ``"the report"``, ``"the JSON"``...

    Returns
    -------
    list of str
        One line per problem, each naming ``path``.
    """
    target = Path(path)
    if target.is_dir():
        return [f"{path}: cannot write {what}: it is a directory"]
    if is_stream(target):
        return [] if os.access(target, os.W_OK) else [f"{path}: cannot write {what}: permission denied"]
    return _writable_folder(target.absolute().parent, what, path)


def folder_problems(path: str | os.PathLike[str], what: str) -> list[str]:
    """What stops ``path`` from being used (made if missing) as a folder to write files in.

    Returns one line per problem, each naming ``path``; empty if nothing does.
    """
    folder = Path(path).absolute()
    if folder.exists():
        if not folder.is_dir():
            return [f"{path}: cannot use it for {what}: it is a file, not a folder"]
        return _writable_folder(folder, what, path)
    ancestor = folder.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    return _writable_folder(ancestor, what, path)


def new_file_beside(target: Path) -> tuple[int, Path]:
    """Create a new, empty, hidden file beside ``target``; return its descriptor (open for writing) and path.

    Its name ends with ``target``'s name, so that it has the same suffixes; its
    mode is ``0o666`` less the umask.
    """
    while True:
        tmp = target.parent / f".journeysim-{secrets.token_hex(4)}-{target.name}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits taken
            continue
        return fd, tmp


def write_atomic(target: str | os.PathLike[str], write: Callable[[IO[bytes]], Any], *, durable: bool = False) -> Path:
    """Write a file all-or-nothing: ``write(fh)`` fills a temporary file, renamed over ``target`` once complete.

    Parameters
    ----------
    target : str or path-like
    write : callable
        Given a binary file open for writing.
    durable : bool
        Flush the data to the disk before the rename (checkpoints), so that a
        power cut cannot leave a complete name over incomplete data.

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    path = Path(target)
    if is_stream(path):
        with open(path, "wb") as fh:
            write(fh)
        return path
    fd, tmp = new_file_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
