"""Atomic file writes: a killed run never leaves a half-written result or cache file."""

import contextlib
import os
import secrets
from pathlib import Path


def _create_beside(path: Path) -> Path:
    """A new empty file beside `path` with a random name, created with mode 0666 so that the kernel applies
    the process umask (and any default ACL) itself: the umask is never read or changed."""
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


@contextlib.contextmanager
def atomic_path(path):
    """A temporary file beside `path` to write (by name); it replaces `path` in one step on success.

    The file gets the permissions a plain open() would give (0644 under umask 022), not mkstemp's 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_file(path, mode: str = "wb"):
    """An open file (mode "wb" or "w") that replaces `path` in one step when the block ends without error."""
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        yield f


def write_text(path, text: str) -> Path:
    with atomic_file(path, "w") as f:
        f.write(text)
    return Path(path)


def write_bytes(path, data: bytes) -> Path:
    with atomic_file(path, "wb") as f:
        f.write(data)
    return Path(path)
