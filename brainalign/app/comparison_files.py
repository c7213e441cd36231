"""The comparison arrays of a result on disk: comparison_<protocol>.npz beside result.json.

brainalign/metrics/compare.py compares two results in memory (ComparisonArrays); this module writes
and reads the files, and `compare_files` compares two results given as files or result folders.
"""

from pathlib import Path

import numpy as np

from brainalign.errors import DataMismatch
from brainalign.plumbing.io import atomic_file
from brainalign.metrics.compare import Comparison, ComparisonArrays, ComparisonPart, compare_results

PREFIX = "comparison_"


def save_comparison_arrays(out_dir, *, benchmark, protocol, layers, best_layer, parts, quantity="r"):
    """Write comparison_<protocol>.npz into out_dir (beside result.json). Returns its path.

    parts: list of dicts with name, r [layers, splits, neuroids], subjects [neuroids], ceiling,
    tests ([splits] index arrays) and, optionally, predictions and targets ([splits] arrays
    [n_test, neuroids] of the best layer / the responses), which the bootstrap over stimuli needs.
    quantity names what r holds; it is aggregated like r (median over neuroids, mean over splits)."""
    if not str(protocol).replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"protocol {protocol!r} must be a plain name (it becomes part of a file name)")
    arrays = {"quantity": np.array(str(quantity)), "benchmark": np.array(str(benchmark)), "protocol": np.array(str(protocol)),
              "layers": np.asarray([str(x) for x in layers]), "best_layer": np.array(int(best_layer)),
              "parts": np.asarray([str(p["name"]) for p in parts])}
    for i, part in enumerate(parts):
        arrays[f"p{i}_r"] = np.asarray(part["r"], dtype=np.float32)
        arrays[f"p{i}_subjects"] = np.asarray(part["subjects"]).astype(str)
        arrays[f"p{i}_ceiling"] = np.array(float(part["ceiling"]))
        for k, test in enumerate(part["tests"]):
            arrays[f"p{i}_test{k}"] = np.asarray(test, dtype=np.int64)
            for key in ("predictions", "targets"):
                if part.get(key) is not None:
                    arrays[f"p{i}_{key}{k}"] = np.asarray(part[key][k], dtype=np.float32)
    path = Path(out_dir) / f"{PREFIX}{protocol}.npz"
    with atomic_file(path) as f:
        np.savez_compressed(f, **arrays)
    return path


def comparison_files(result_dir) -> dict:
    """protocol -> path of every comparison_<protocol>.npz in a result folder."""
    return {p.name[len(PREFIX):-len(".npz")]: p for p in sorted(Path(result_dir).glob(f"{PREFIX}*.npz"))
            if not p.name.endswith(".tmp.npz")}


def load_comparison_arrays(path, protocol=None) -> ComparisonArrays:
    """Read a comparison_<protocol>.npz, or the one of `protocol` (or the only one) in a result folder."""
    path = Path(path)
    if path.is_dir():
        files = comparison_files(path)
        if protocol is not None:
            files = {k: v for k, v in files.items() if k == protocol}
        if len(files) != 1:
            what = "without comparison arrays" if not files else f"with several protocols ({', '.join(files)}); name one"
            raise DataMismatch(f"{path}: the result was written {what}")
        path = next(iter(files.values()))
    if not path.exists():
        raise DataMismatch(f"{path} does not exist: the result was written without comparison arrays")
    with np.load(path, allow_pickle=False) as z:
        out = ComparisonArrays(str(z["benchmark"]), str(z["protocol"]), z["layers"].tolist(), int(z["best_layer"]),
                               quantity=str(z["quantity"]))
        for i, name in enumerate(z["parts"].tolist()):
            n_splits = z[f"p{i}_r"].shape[1]
            tests = [z[f"p{i}_test{k}"] for k in range(n_splits)]
            extra = {key: ([z[f"p{i}_{key}{k}"].astype(np.float64) for k in range(n_splits)]
                           if f"p{i}_{key}0" in z else None) for key in ("predictions", "targets")}
            out.parts.append(ComparisonPart(name, z[f"p{i}_r"].astype(np.float64), z[f"p{i}_subjects"],
                                            float(z[f"p{i}_ceiling"]), tests, **extra))
    return out


def compare_files(a, b, *, protocol=None, **kwargs) -> Comparison:
    """compare_results of two results given as comparison files or result folders (`protocol` picks
    the file of a folder that has several); kwargs: layer, n_boot, n_perm, seed."""
    return compare_results(load_comparison_arrays(a, protocol), load_comparison_arrays(b, protocol), **kwargs)
