"""One cache for everything computed once: features, word features, surprisals, NWP losses, ceilings.

A key is a hash of what a value depends on plus the kind's version (bump it when the computation
changes what it returns); a value is a .npz or .json file under <cache>/<kind>/, or one large .npy read
through a memory map; every write is atomic (brainalign/plumbing/io.py), and an unreadable file is dropped and
recomputed. A long computation checkpoints into `<key>.partial.npz` and resumes from it; a large array
is filled in place in `<key>.partial.npy`, renamed to `<key>.npy` when complete.
"""

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from brainalign.plumbing.io import atomic_file

log = logging.getLogger(__name__)


def make_key(version: int, n: int = 20, **parts) -> str:
    """sha256 of the JSON of `parts` and the version, cut to n hex digits."""
    blob = json.dumps({**parts, "version": version}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:n]


def text_hash(lines) -> str:
    """A hash of a sequence of strings (words, passages), for keys that would otherwise be huge."""
    return hashlib.sha256("\n".join(map(str, lines)).encode()).hexdigest()


def write_npz(path: Path, **arrays) -> Path:
    with atomic_file(path) as f:
        np.savez(f, **arrays)
    return Path(path)


def write_json(path: Path, obj) -> Path:
    with atomic_file(path, "w") as f:
        json.dump(obj, f, indent=1, default=str)
    return Path(path)


def read_npz(path: Path) -> dict | None:
    """All arrays of an .npz, or None when it is missing; a corrupt file is removed (and None)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as e:  # truncated or corrupted: recompute
        log.warning("cache file %s unreadable (%s); recomputing", path, e)
        path.unlink(missing_ok=True)
        return None


def read_json(path: Path):
    path = Path(path)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        log.warning("cache file %s unreadable (%s); recomputing", path, e)
        path.unlink(missing_ok=True)
        return None


class Cache:
    """The files of one kind of cached value: `Cache(cache_dir, "surprisal", version=3)`."""

    def __init__(self, cache_dir, kind: str, version: int, sub: str | None = None):
        self.root = Path(cache_dir).expanduser() / kind / (sub or "")
        self.kind, self.version = kind, version

    def key(self, **parts) -> str:
        return make_key(self.version, **parts)

    def path(self, key: str, suffix: str = ".npz") -> Path:
        return self.root / f"{key}{suffix}"

    def read(self, key: str) -> dict | None:
        return read_npz(self.path(key))

    def write(self, key: str, **arrays) -> Path:
        return write_npz(self.path(key), **arrays)

    def lock(self, key: str):
        """Held while checking, computing and writing one entry: a second job asking for it waits, then
        finds it (brainalign/plumbing/locks.py)."""
        from brainalign.plumbing.locks import entry_lock

        return entry_lock(self.path(key))

    def read_json(self, key: str):
        return read_json(self.path(key, ".json"))

    def write_json(self, key: str, obj) -> Path:
        return write_json(self.path(key, ".json"), obj)

    # checkpoints of a computation under way
    def read_partial(self, key: str) -> dict | None:
        return read_npz(self.path(key, ".partial.npz"))

    def write_partial(self, key: str, **arrays) -> Path:
        return write_npz(self.path(key, ".partial.npz"), **arrays)

    def drop_partial(self, key: str) -> None:
        self.path(key, ".partial.npz").unlink(missing_ok=True)

    # one large array (a book's word features), never loaded whole
    def read_array(self, key: str, partial: bool = False) -> np.ndarray | None:
        """`<key>.npy` as a read-only memory map (`partial`: `<key>.partial.npy`, writable), or None."""
        path = self.path(key, ".partial.npy" if partial else ".npy")
        if not path.exists():
            return None
        try:
            return np.load(path, mmap_mode="r+" if partial else "r")
        except Exception as e:  # truncated or corrupted: recompute
            log.warning("cache file %s unreadable (%s); recomputing", path, e)
            path.unlink(missing_ok=True)
            return None

    def new_partial_array(self, key: str, shape: tuple, dtype=np.float32) -> np.ndarray:
        """A zero `<key>.partial.npy` of `shape`, memory-mapped, to fill piece by piece."""
        path = self.path(key, ".partial.npy")
        path.parent.mkdir(parents=True, exist_ok=True)
        return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)

    def finish_array(self, key: str) -> Path:
        """The filled `<key>.partial.npy` becomes `<key>.npy`, in one step."""
        return self.path(key, ".partial.npy").replace(self.path(key, ".npy"))


class Checkpoint:
    """Periodic saves of a computation under way, `Checkpoint(cache, key)`: `due()` says when,
    `save(**arrays)` writes, `load()` gives the last one back, `drop()` removes it once the value is stored."""

    def __init__(self, cache: Cache, key: str, every_s: float = 30.0):
        import time

        self.cache, self.key, self.every_s = cache, key, every_s
        self._clock = time.monotonic
        self._last = self._clock()

    def load(self) -> dict | None:
        return self.cache.read_partial(self.key)

    def due(self) -> bool:
        return self._clock() - self._last >= self.every_s

    def save(self, **arrays) -> None:
        self.cache.write_partial(self.key, **arrays)
        self._last = self._clock()

    def drop(self) -> None:
        self.cache.drop_partial(self.key)
