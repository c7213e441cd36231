"""Brain-Score assemblies whose neuroids carry `subject_UID` and whose stimuli carry `stimulus`
(Tuckute2024, Fedorenko2016): read into BrainData, NaN refused."""

import numpy as np

from brainalign.datasets.assembly import coords_table, is_synthetic, read_assembly, with_text
from brainalign.datasets.brain import BrainData
from brainalign.datasets.store import fetch
from brainalign.errors import DataMismatch


def load_subject_assembly(name, path, url, sha1, cache_dir, progress, presentation_coords, group_by) -> BrainData:
    """The assembly at `path`, or downloaded once from `url` (SHA-1 checked), as BrainData without a ceiling."""
    if path is None:
        path = fetch(url, sha1, cache_dir, progress=progress)
    assembly = read_assembly(path, name, presentation_coords, ["neuroid_id", "subject_UID"])
    stimuli = with_text(coords_table(assembly, "presentation"), "stimulus")
    if np.isnan(assembly.values).any():  # Brain-Score's files have none; a regression cannot use NaN
        raise DataMismatch(f"{name}: {path} has NaN responses")
    neuroids = coords_table(assembly, "neuroid")
    neuroids.insert(1, "subject", neuroids["subject_UID"].astype(str))
    return BrainData(name=name, stimuli=stimuli, responses=assembly.values, neuroids=neuroids,
                     ceiling=None, synthetic=is_synthetic(assembly), group_by=group_by)
