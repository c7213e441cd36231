"""The comparison arrays of a result on disk: comparison_<protocol>.npz beside result.json.

brainalign/metrics/compare.py compares two results in memory (ComparisonArrays); this module writes
and reads the files, and `compare_files` compares two results given as files or result folders.
A result's bootstrap table (the refits, the slow part) is cached beside its file in
replicates_<protocol>.npz, keyed by the file's contents, so comparing again is instant.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from brainalign.errors import DataMismatch
from brainalign.plumbing.io import atomic_file
from brainalign.metrics.compare import Comparison, ComparisonArrays, ComparisonPart, compare_results
from brainalign.metrics import dual_bootstrap
from brainalign.metrics.dual_bootstrap import Design, Replicates

PREFIX = "comparison_"
CACHE_PREFIX = "replicates_"
REPLICATES_VERSION = 3
FIELDS = ("full", "assignments", "units", "subjects", "both", "subject_labels", "unit_labels", "seed")  # of a Replicates, in order


def save_comparison_arrays(out_dir, *, benchmark, protocol, layers, best_layer, parts, quantity="r", metric=None):
    """Write comparison_<protocol>.npz into out_dir (beside result.json). Returns its path.

    parts: list of dicts with name, r [layers, splits, neuroids], subjects [neuroids], ceiling,
    tests ([splits] index arrays) and, for the dual bootstrap (with `metric`, score_protocol's
    keyword arguments), design: a brainalign.metrics.dual_bootstrap.Design of the best layer. Older files
    kept predictions and targets ([splits] arrays [n_test, neuroids]) instead; they are still written
    when given. quantity names what r holds; it is aggregated like r (median over neuroids, mean over splits)."""
    if not str(protocol).replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"protocol {protocol!r} must be a plain name (it becomes part of a file name)")
    arrays = {"quantity": np.array(str(quantity)), "benchmark": np.array(str(benchmark)), "protocol": np.array(str(protocol)),
              "layers": np.asarray([str(x) for x in layers]), "best_layer": np.array(int(best_layer)),
              "parts": np.asarray([str(p["name"]) for p in parts])}
    if metric is not None:
        arrays["metric"] = np.array(json.dumps(_plain(metric)))
    for i, part in enumerate(parts):
        arrays[f"p{i}_r"] = np.asarray(part["r"], dtype=np.float32)
        arrays[f"p{i}_subjects"] = np.asarray(part["subjects"]).astype(str)
        arrays[f"p{i}_ceiling"] = np.array(float(part["ceiling"]))
        for k, test in enumerate(part["tests"]):
            arrays[f"p{i}_test{k}"] = np.asarray(test, dtype=np.int64)
            for key in ("predictions", "targets"):
                if part.get(key) is not None:
                    arrays[f"p{i}_{key}{k}"] = np.asarray(part[key][k], dtype=np.float32)
        design = part.get("design")
        if design is not None:
            arrays[f"p{i}_basis"] = np.asarray(design.basis, dtype=np.float32)
            arrays[f"p{i}_responses"] = np.asarray(design.responses, dtype=np.float32)
            arrays[f"p{i}_units"] = np.asarray(design.units).astype(str)
            for k, (train, _) in enumerate(design.splits):
                arrays[f"p{i}_train{k}"] = np.asarray(train, dtype=np.int64)
    path = Path(out_dir) / f"{PREFIX}{protocol}.npz"
    with atomic_file(path) as f:
        np.savez_compressed(f, **arrays)
    return path


def _plain(value):
    """Settings as JSON-able values (numpy arrays and numbers to lists and floats)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


def comparison_files(result_dir) -> dict:
    """protocol -> path of every comparison_<protocol>.npz in a result folder."""
    return {p.name[len(PREFIX):-len(".npz")]: p for p in sorted(Path(result_dir).glob(f"{PREFIX}*.npz"))
            if not p.name.endswith(".tmp.npz")}


def load_comparison_arrays(path, protocol=None) -> ComparisonArrays:
    """Read a comparison_<protocol>.npz, or the one of `protocol` (or the only one) in a result folder."""
    path = comparison_file(path, protocol)
    with np.load(path, allow_pickle=False) as z:
        out = ComparisonArrays(str(z["benchmark"]), str(z["protocol"]), z["layers"].tolist(), int(z["best_layer"]),
                               quantity=str(z["quantity"]))
        for i, name in enumerate(z["parts"].tolist()):
            n_splits = z[f"p{i}_r"].shape[1]
            tests = [z[f"p{i}_test{k}"] for k in range(n_splits)]
            extra = {key: ([z[f"p{i}_{key}{k}"].astype(np.float64) for k in range(n_splits)]
                           if f"p{i}_{key}0" in z else None) for key in ("predictions", "targets")}
            if f"p{i}_basis" in z:
                extra["design"] = Design(z[f"p{i}_basis"].astype(np.float64), z[f"p{i}_responses"].astype(np.float64),
                                         z[f"p{i}_units"], [(z[f"p{i}_train{k}"], tests[k]) for k in range(n_splits)])
            out.parts.append(ComparisonPart(name, z[f"p{i}_r"].astype(np.float64), z[f"p{i}_subjects"],
                                            float(z[f"p{i}_ceiling"]), tests, **extra))
        if "metric" in z:
            out.metric = json.loads(str(z["metric"]))
    return out


def _cache_of(path) -> Path:
    return path.with_name(CACHE_PREFIX + path.name[len(PREFIX):])


def _digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _from_cache(path, digest) -> Replicates | None:
    """The table cached beside comparison file `path` when it was made from contents `digest` with
    this version and these numbers of samples and assignments, else None."""
    try:
        with np.load(_cache_of(path), allow_pickle=False) as z:
            if (str(z["source"]) == digest and int(z["version"]) == REPLICATES_VERSION
                    and len(z["units"]) == dual_bootstrap.N_BOOT
                    and len(z["assignments"]) == dual_bootstrap.N_ASSIGN):
                return Replicates(*(z[f] for f in FIELDS))
    except (OSError, KeyError, ValueError):
        pass
    return None


def cached_replicates(path, arrays: ComparisonArrays) -> Replicates:
    """The bootstrap table of the result in comparison file `path` (loaded as `arrays`), from
    replicates_<protocol>.npz beside it when that was made from the same contents, else computed and
    stored there (a folder that cannot be written only loses the cache)."""
    path = Path(path)
    digest = _digest(path)
    rep = _from_cache(path, digest)
    if rep is not None:
        return rep
    rep = arrays.replicates()
    try:
        with atomic_file(_cache_of(path)) as f:
            np.savez(f, source=np.array(digest), version=np.array(REPLICATES_VERSION),
                     **{f: getattr(rep, f) for f in FIELDS})
    except OSError:
        pass
    return rep


def _can_refit(path) -> bool:
    """Does comparison file `path` keep what the dual bootstrap refits (ComparisonArrays.can_refit)?"""
    with np.load(path, allow_pickle=False) as z:
        parts = len(z["parts"])
        return "metric" in z.files and all(f"p{i}_basis" in z.files for i in range(parts))


def _table(path, n_boot, n_assign):
    dual_bootstrap.N_BOOT, dual_bootstrap.N_ASSIGN = n_boot, n_assign   # in a worker process: the caller's
    cached_replicates(path, load_comparison_arrays(path))


def cache_tables(paths, jobs=1):
    """Compute the bootstrap tables of comparison files `paths` that are not cached yet, `jobs`
    processes at a time (one result per process), with a progress bar; each is stored beside its file."""
    from joblib import Parallel, delayed
    from tqdm import tqdm

    todo = [p for p in dict.fromkeys(Path(p) for p in paths) if _can_refit(p) and _from_cache(p, _digest(p)) is None]
    if not todo:
        return
    settings = (dual_bootstrap.N_BOOT, dual_bootstrap.N_ASSIGN)
    work = Parallel(n_jobs=max(1, min(int(jobs), len(todo))), return_as="generator_unordered")(
        delayed(_table)(p, *settings) for p in todo)
    for _ in tqdm(work, total=len(todo), desc="dual bootstrap: results", unit="result"):
        pass


def comparison_file(path, protocol=None) -> Path:
    """The comparison_<protocol>.npz a path names: the file itself, or the one of `protocol` (or the
    only one) in a result folder."""
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
    return path


def compare_pair(a, b, *, protocol=None, **kwargs) -> tuple[ComparisonArrays, Comparison]:
    """(a's arrays, compare_results of a and b) for two results given as comparison files or result
    folders (`protocol` picks the file of a folder that has several), each result's bootstrap table
    cached beside its file; kwargs: layer, n_boot, n_perm, seed."""
    files = [comparison_file(x, protocol) for x in (a, b)]
    arrays = [load_comparison_arrays(f) for f in files]
    if kwargs.get("layer", "best") == "best" and all(x.can_refit() for x in arrays):
        kwargs["replicates"] = tuple(cached_replicates(f, x) for f, x in zip(files, arrays))
    return arrays[0], compare_results(*arrays, **kwargs)


def compare_files(a, b, *, protocol=None, **kwargs) -> Comparison:
    """The comparison of compare_pair."""
    return compare_pair(a, b, protocol=protocol, **kwargs)[1]
