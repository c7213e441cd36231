"""Content hashes of the data files a score depends on, so that a result belongs to its data, not to
where the data lie: moving a file keeps the hash, changing it changes the hash.

Each file's sha256 is kept in <cache>/datahash/index.json keyed by its absolute path, size and
modification time, so a file is read again only when one of those changes. A folder's hash covers
every file below it (hidden ones aside), by relative name and content.
"""

import hashlib
import json
import os
from pathlib import Path

from brainalign.errors import DataUnavailable
from brainalign.plumbing.io import write_text

CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


class Hasher:
    """File and folder hashes, remembered across runs in `index_file` (None: within this process only)."""

    def __init__(self, index_file: Path | None):
        self.index_file = Path(index_file) if index_file else None
        self.index, self.changed = {}, False
        if self.index_file and self.index_file.exists():
            try:
                self.index = json.loads(self.index_file.read_text())
            except (OSError, ValueError):
                self.index = {}

    def file(self, path: Path) -> str:
        path = Path(path).resolve()
        st = path.stat()
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
        entry = self.index.get(str(path))
        if entry and entry.get("stamp") == stamp:
            return entry["sha256"]
        digest = _sha256(path)
        self.index[str(path)] = {"stamp": stamp, "sha256": digest}
        self.changed = True
        return digest

    def path(self, path) -> str:
        """sha256 of a file, or of a folder's files (names relative to it, and their hashes)."""
        path = Path(os.path.expanduser(str(path)))
        if path.is_file():
            return self.file(path)
        if not path.is_dir():
            raise DataUnavailable(f"{path} does not exist")
        h = hashlib.sha256()
        for f in sorted(p for p in path.rglob("*") if p.is_file()
                        and not any(part.startswith(".") for part in p.relative_to(path).parts)):
            h.update(f"{f.relative_to(path).as_posix()}\0{self.file(f)}\n".encode())
        return h.hexdigest()

    def save(self) -> None:
        if self.index_file and self.changed:
            try:
                write_text(self.index_file, json.dumps(self.index, indent=0, sort_keys=True))
            except OSError:   # a read-only cache: hashes are computed again next time
                pass
            self.changed = False


def data_hashes(dataset: dict, keys, cache_dir=None) -> dict:
    """{key: sha256} of each of `keys` whose value in `dataset` is a path (a data file or folder)."""
    hasher = Hasher(Path(cache_dir) / "datahash" / "index.json" if cache_dir else None)
    out = {}
    for key in keys:
        if dataset.get(key):
            try:
                out[key] = hasher.path(dataset[key])[:16]
            except DataUnavailable:
                raise DataUnavailable(f"dataset.{key}={dataset[key]} does not exist") from None
    hasher.save()
    return out
