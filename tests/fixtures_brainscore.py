"""Assemblies written by Brain-Score's own `write_netcdf` (in its venv, at test time) over the real
coordinate structure of Tuckute2024.language and Fedorenko2016.language, with synthetic values.

The writer is bench/brainscore_assemblies.py, run by $BRAINSCORE_PYTHON; a test that needs one of
these files is skipped, with the reason, when that variable is unset or names no python."""

import importlib.util
from pathlib import Path

from runif import brainscore_python

REPO = Path(__file__).resolve().parents[1]


def crosscheck():
    """bench/crosscheck_suite.py as a module (its writer, planted signal and Brain-Score runner)."""
    spec = importlib.util.spec_from_file_location("crosscheck_suite", REPO / "bench" / "crosscheck_suite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_brainscore_assembly(dataset, path, values=None, seed=0) -> dict:
    """Write `dataset` ('tuckute2024' | 'fedorenko2016') to `path`: {"path", "sha1" (Brain-Score's), "shape"}."""
    return crosscheck().write_assembly(brainscore_python(), dataset, path, values=values, seed=seed)


def write_local_assembly(dataset, path, values=None, seed=0) -> dict:
    """The same layout written with xarray in this venv (for the quick tests): {"path", "shape"}."""
    import numpy as np
    import xarray as xr

    spec = importlib.util.spec_from_file_location("brainscore_assemblies", REPO / "bench" / "brainscore_assemblies.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data, coords = module.BUILDERS[dataset](values=values, seed=seed)
    coords = {name: (dim, np.asarray(v)) for name, (dim, v) in coords.items()}
    assembly = xr.DataArray(np.asarray(data, float), dims=("presentation", "neuroid"), coords=coords,
                            attrs={"synthetic": 1})
    assembly.to_dataset(name="data").to_netcdf(path)
    return {"path": str(path), "shape": list(assembly.shape)}
