"""Read a Brain-Score assembly file: one netCDF data variable with labelled dimensions.

Brain-Score writes its assemblies with xarray after resetting the MultiIndexes, so every label
(`stimulus_id`, `subject`, ...) is a plain coordinate variable along its dimension.
"""

from pathlib import Path

import pandas as pd
import xarray as xr

from brainalign.errors import DataMismatch, DataUnavailable

DIMS = ("presentation", "neuroid")


def read_assembly(path, name, presentation_coords, neuroid_coords) -> xr.DataArray:
    """Load `path` into memory as `[presentation, neuroid]`; check the dims and required coords."""
    path = Path(path)
    if not path.exists():
        raise DataUnavailable(f"{name}: no file at {path}. Fix dataset.path, or leave it unset to "
                              "download the file from Brain-Score's store.")
    try:
        with xr.open_dataarray(path) as stored:
            assembly = stored.load()
    except (ValueError, OSError) as e:
        reason = "not a netCDF file" if "IO backends" in str(e) or "format" in str(e).lower() else str(e).splitlines()[0]
        raise DataMismatch(f"{name}: {path} is not a readable netCDF assembly ({reason[:200]}); dataset.path must "
                           "be the .nc file of Brain-Score's store (one data variable, dims presentation x neuroid)") from None
    if set(assembly.dims) != set(DIMS):
        raise DataMismatch(f"{name}: {path} has dims {assembly.dims}, expected {DIMS}")
    assembly = assembly.transpose(*DIMS)
    for dim, wanted in (("presentation", presentation_coords), ("neuroid", neuroid_coords)):
        have = coords_table(assembly, dim).columns
        missing = [c for c in wanted if c not in have]
        if missing:
            raise DataMismatch(f"{name}: {path} lacks the {dim} coordinate(s) {missing}; "
                               f"it has {sorted(have)}")
    return assembly


def coords_table(assembly: xr.DataArray, dim: str) -> pd.DataFrame:
    """Every 1-D coordinate along `dim` as a column, in stored order."""
    columns = {name: coord.values for name, coord in assembly.coords.items()
               if coord.dims == (dim,) and name != dim}
    return pd.DataFrame(columns)


def with_text(stimuli: pd.DataFrame, column: str) -> pd.DataFrame:
    """`stimuli` with a `text` column copied from `column`, `stimulus_id` and `text` first."""
    stimuli = stimuli.assign(text=stimuli[column])
    first = ["stimulus_id", "text"]
    return stimuli[first + [c for c in stimuli.columns if c not in first]]


def is_synthetic(assembly: xr.DataArray) -> bool:
    """Files written by the test fixtures say `synthetic = 1`; Brain-Score's files do not."""
    return bool(int(assembly.attrs.get("synthetic", 0)))
