"""Result files: result.json + layers.csv per run, written atomically; a finished run is skipped."""

import csv
import io
import json
from pathlib import Path

from brainalign.plumbing.io import write_text

RESULT, LAYERS, FAILED = "result.json", "layers.csv", "failed.json"
# Keys every benchmark's result carries, so runs compare in one table (and in W&B's run table).
SUMMARY_KEYS = ("raw", "ceiled", "ceiling", "best_layer", "best_layer_index", "raw_cv", "n_layers", "synthetic")


def done(out_dir: Path) -> bool:
    return read(out_dir) is not None


def read(out_dir: Path) -> dict | None:
    try:
        return json.loads((Path(out_dir) / RESULT).read_text())
    except (OSError, ValueError):
        return None


def write(out_dir: Path, result: dict) -> Path:
    """result.json and layers.csv; the failure record of an earlier attempt is removed."""
    out_dir = Path(out_dir)
    missing = [k for k in SUMMARY_KEYS if k not in result]
    if missing:
        raise ValueError(f"result lacks the shared keys {missing}")
    layers = result.get("per_layer") or []
    protocols = result.get("protocols") or {}
    protocols = protocols if len(protocols) > 1 else {}   # with several, each one's raw score: <protocol>_raw
    if layers:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["index", *layers[0].keys(), *(f"{p}_raw" for p in protocols)])
        writer.writeheader()
        for i, row in enumerate(layers):
            writer.writerow({"index": i, **row, **{f"{p}_raw": s["per_layer"][i]["raw"] for p, s in protocols.items()}})
        write_text(out_dir / LAYERS, buf.getvalue())
    write_text(out_dir / RESULT, json.dumps(result, indent=2, default=_plain))
    (out_dir / FAILED).unlink(missing_ok=True)
    return out_dir / RESULT


def write_failure(out_dir: Path, info: dict) -> None:
    write_text(Path(out_dir) / FAILED, json.dumps(info, indent=2, default=str))


def _plain(x):
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def layer_depths(names: list[str]) -> list[dict]:
    """Each layer's place in the model: kind (embedding, block, or the block's sub-module, e.g.
    post_attention_layernorm), block number and relative depth (embedding 0, last block 1; a sub-module
    half a block before its block's output; stacks, e.g. encoder then decoder, one after the other).
    A layer that is neither (the localized language_network) has depth None."""
    import re

    units: list[tuple] = []   # (stack, block) in order of first appearance, blocks ascending per stack
    parsed = []
    for name in names:
        m = re.search(r"^(.*?[A-Za-z_])\.(\d+)(?:\.(.+))?$", name)   # <stack>.<n>[.<sub-module>]; not oasm_sigma1.0
        if m is None:
            parsed.append((None, None, "embedding" if "embed" in name else "other"))
            continue
        stack, block, sub = m.group(1), int(m.group(2)), m.group(3)
        parsed.append(((stack, block), block, sub or "block"))
        if (stack, block) not in units:
            units.append((stack, block))
    stacks = list(dict.fromkeys(s for s, _ in units))
    units.sort(key=lambda u: (stacks.index(u[0]), u[1]))
    rows = []
    for unit, block, kind in parsed:
        if unit is None:
            depth = 0.0 if kind == "embedding" else None
        else:
            depth = (units.index(unit) + (1.0 if kind == "block" else 0.5)) / len(units)
        rows.append({"depth": depth, "block": block, "kind": kind})
    return rows
