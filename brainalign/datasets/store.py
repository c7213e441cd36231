"""Download a data file once into a local cache and check its SHA-1 (as Brain-Score does).

Brain-Score keeps each assembly as one netCDF file in a public S3 bucket, readable over HTTPS.
"""

import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm import tqdm

from brainalign.errors import DataMismatch, DataUnavailable
from brainalign.plumbing.io import atomic_file

log = logging.getLogger(__name__)

STORE = "https://brainscore-storage.s3.amazonaws.com/brainscore-language"
TIMEOUT_S = 10  # per connect/read, so an offline machine fails fast
CHUNK = 1 << 20


def default_cache_dir() -> Path:
    """paths.data: `$BRAINALIGN_DATA_DIR`, else <paths.cache>/data (brainalign/config/schema.py)."""
    from brainalign.config.paths import path

    return path("data")


def offline() -> bool:
    """True when the user asked us not to touch the network."""
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("BRAINALIGN_OFFLINE", "HF_HUB_OFFLINE"))


def sha1_of(path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(url, sha1, cache_dir=None, filename=None, progress=True, config_key="dataset.path",
          timeout=TIMEOUT_S, config_value=None) -> Path:
    """Return the path of `url`'s file in `cache_dir`, downloading it if it is absent or corrupt.
    `config_key`=`config_value` (default /path/to/<file>) is the setting that points to a copy by hand.

    Raises `DataUnavailable` (with how to get the file by hand) when it cannot be downloaded, and
    `DataMismatch` when the downloaded file does not have the expected SHA-1.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    filename = filename or Path(urllib.parse.urlparse(url).path).name
    target = cache_dir / filename
    setting = f"{config_key}={config_value or f'/path/to/{filename}'}"
    corrupt = False
    if target.exists():
        if sha1 is None or sha1_of(target) == sha1:
            return target
        corrupt = True
        log.warning("%s is corrupt or incomplete (SHA-1 mismatch); downloading it again", target)

    if offline():
        reason = "offline mode is on (BRAINALIGN_OFFLINE/HF_HUB_OFFLINE)"
        raise DataUnavailable(_how_to_get(url, target, setting, reason, corrupt))
    try:
        with atomic_file(target) as out:
            got = _download(url, out, timeout, progress, filename)
            if sha1 is not None and got != sha1:
                raise DataMismatch(f"the file downloaded from {url} has SHA-1 {got}, expected {sha1}: the store's "
                                   "copy may have changed or the download was altered; nothing was cached")
    except (OSError, http.client.HTTPException) as e:  # URLError, timeouts and resets are OSErrors
        raise DataUnavailable(_how_to_get(url, target, setting, _reason(e), corrupt)) from e
    log.info("downloaded %s to %s", url, target)
    return target


def _download(url, out, timeout, progress, label) -> str:
    """Stream `url` into the open file `out`; return the SHA-1 of what was received."""
    digest = hashlib.sha1()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        received = 0
        with tqdm(total=total, unit="B", unit_scale=True, desc=label, disable=not progress) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise ConnectionError(f"download interrupted after {received} of {total} bytes")
    return digest.hexdigest()


def _reason(error) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"the server answered HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"the network is unreachable ({error.reason})"
    return f"the download failed ({error})"


def _how_to_get(url, target, setting, reason, corrupt=False) -> str:
    what = (f"the cached {target} is corrupt (SHA-1 mismatch) and cannot be downloaded again: {reason}"
            if corrupt else f"cannot download {target.name}: {reason}")
    return (f"{what}; download it by hand from {url} and put the good copy at {target}, "
            f"or point to it with {setting}")
