"""Stand-in for `brainalign.datasets.store.fetch` until that module is merged: same signature and errors.

Delete this file once `brainalign/datasets/store.py` is in main.
"""

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

from brainalign.errors import DataMismatch, DataUnavailable


def _sha1(path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def default_cache_dir() -> Path:
    return Path(os.environ.get("BRAINALIGN_DATA_DIR") or Path.home() / ".cache" / "brainalign" / "data")


def fetch(url, sha1, cache_dir=None, filename=None) -> Path:
    cache_dir = Path(cache_dir or default_cache_dir())
    target = cache_dir / (filename or url.rsplit("/", 1)[-1])
    if target.exists() and (sha1 is None or _sha1(target) == sha1):
        return target
    how = f"download it by hand from {url} and set dataset.path to it"
    if os.environ.get("BRAINALIGN_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise DataUnavailable(f"cannot download {target.name}: offline mode is on; {how}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=10) as response:
            while chunk := response.read(1 << 20):
                out.write(chunk)
        if sha1 is not None and _sha1(tmp) != sha1:
            raise DataMismatch(f"{url} has SHA-1 {_sha1(tmp)}, expected {sha1}; nothing was cached")
        os.replace(tmp, target)
    except OSError as e:
        raise DataUnavailable(f"cannot download {target.name} ({e}); {how}") from e
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target
