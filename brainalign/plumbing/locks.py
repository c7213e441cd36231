"""Locks that serialise concurrent runs on one result folder or one cache entry.

Two jobs of a sweep (or two users' runs) may ask for the same result folder or the same cached
feature file at once. Whoever holds the lock checks whether the work is done, does it if not, and
writes it; the other waits, then finds it done. The locks are `flock`s on a small `.lock` file
(filelock.FileLock), so the kernel releases them when a holder dies, even by SIGKILL: a killed job
never leaves a folder locked. On a cluster the folder must be on a file system with working `flock`
(local disks, NFSv4, Lustre and GPFS have it).
"""

import contextlib
import glob
import logging
import time
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)

LOCK = ".lock"


@contextlib.contextmanager
def _held(lock_path: Path, what: str, timeout: float | None, leftovers):
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"[brainalign] {what} is being written by another run; waiting for it", flush=True)
        t0 = time.monotonic()
        lock.acquire(timeout=-1 if timeout is None else timeout)
        log.info("waited %.1f s for %s", time.monotonic() - t0, what)
    try:
        # Temporary files of atomic writes (brainalign.plumbing.io) that a killed writer left: with the lock held,
        # nobody else is writing them.
        for stale in leftovers():
            stale.unlink(missing_ok=True)
        yield
    finally:
        lock.release()


def folder_lock(folder, timeout: float | None = None):
    """Hold `<folder>/.lock` while checking, computing and writing the folder's result.

    Waits (forever by default, else `timeout` seconds, then filelock.Timeout) while another
    process holds it, and says so once.
    """
    folder = Path(folder)
    return _held(folder / LOCK, str(folder), timeout, lambda: folder.glob(".*.tmp"))


def entry_lock(path, timeout: float | None = None):
    """Hold `<path>.lock` while checking, computing and writing the cache entry `path` (a file, or a
    folder of files)."""
    path = Path(path)

    def leftovers():
        if path.is_dir():
            return [*path.glob("*.tmp"), *path.glob(".*.tmp")]
        return path.parent.glob(f".{glob.escape(path.stem)}.*tmp")

    return _held(path.with_name(path.name + LOCK), str(path), timeout, leftovers)
