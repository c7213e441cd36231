"""Per-voxel (or other large) arrays of a result: <name>.npz beside result.json, written atomically.

A benchmark returns them under `arrays` ({name: {key: array}}); result.json names the file instead."""

from pathlib import Path

import numpy as np

from brainalign.plumbing.io import atomic_file


def save_arrays(out_dir, name: str, arrays: dict) -> Path:
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"array file name {name!r} must be a plain name")
    path = Path(out_dir) / f"{name}.npz"
    with atomic_file(path) as f:
        np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})
    return path


def load_arrays(path) -> dict:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}
