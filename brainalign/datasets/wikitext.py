"""WikiText-2 (raw) test text for next-word-prediction loss.

From a local file (`dataset.path`: a text file such as `wiki.test.raw`, a folder holding one, or a
`.parquet` file of the hub dataset), else through the `datasets` library where the hub is reachable
(`pip install datasets`). With `datasets` the text is the split's lines joined with "\\n\\n", the
usual perplexity recipe; a local raw file is read as it is.
"""

import os
from pathlib import Path

from brainalign.errors import ConfigError, DataMismatch, DataUnavailable

HUB = ("wikitext", "wikitext-2-raw-v1")
RAW_NAMES = {"test": "wiki.test.raw", "validation": "wiki.valid.raw", "train": "wiki.train.raw"}


def read_text_file(path, split: str = "test") -> str:
    path = Path(os.path.expanduser(str(path)))
    if path.is_dir():
        hits = sorted(path.rglob(RAW_NAMES.get(split, split)))
        if not hits:
            raise DataUnavailable(f"no {RAW_NAMES.get(split, split)} under {path}")
        path = hits[0]
    if not path.exists():
        raise DataUnavailable(f"dataset.path={path} does not exist")
    if path.suffix == ".parquet":
        import pandas as pd

        text = "\n\n".join(pd.read_parquet(path)["text"].astype(str))
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise DataMismatch(f"dataset.path={path} is not UTF-8 text (WikiText-2 raw, wiki.test.raw)") from None
    if not text.strip():
        raise DataMismatch(f"dataset.path={path} holds no text")
    return text


def load_wikitext2(cfg=None) -> tuple[str, str]:
    """(text, where it came from) for the configured split."""
    cfg = cfg or {}
    split = str(cfg.get("split") or "test")
    if split not in RAW_NAMES:
        raise ConfigError(f"dataset.split={split!r}; choose one of {', '.join(RAW_NAMES)}")
    if cfg.get("path"):
        return read_text_file(cfg["path"], split), f"file:{cfg['path']}"
    hub = tuple(cfg.get("hub") or HUB)
    how = ("set dataset.path to a local copy of WikiText-2 raw (wiki.test.raw, or the hub's test parquet), "
           "or run where the hub is reachable with `pip install datasets`")
    try:
        import datasets
    except ImportError:
        raise DataUnavailable(f"WikiText-2 needs the `datasets` package or a local file: {how}") from None
    try:
        rows = datasets.load_dataset(*hub, split=split)
    except Exception as e:  # the hub client raises many types when offline
        raise DataUnavailable(f"cannot load {'/'.join(hub)} ({type(e).__name__}: {str(e)[:200]}): {how}") from None
    return "\n\n".join(rows["text"]), f"hub:{'/'.join(hub)}:{split}"
