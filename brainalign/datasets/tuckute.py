"""Tuckute et al. 2024 (Nature Human Behaviour): the language network's fMRI response to 1,000
sentences chosen to drive, suppress or sample it (Brain-Score's `Tuckute2024.language`).

One neuroid: the left-hemisphere language network (`lang_LH_netw`), averaged over the 5 train
participants (848, 853, 865, 875, 876), z-scored. Each sentence is a passage of its own: it is
fed to the model alone, without context, as Brain-Score does. There is no ceiling (Brain-Score's
benchmark has `ceiling=None`)."""

import numpy as np

from brainalign.datasets.assembly import coords_table, is_synthetic, read_assembly, with_text
from brainalign.datasets.brain import BrainData
from brainalign.datasets.store import STORE, fetch
from brainalign.errors import DataMismatch

URL = f"{STORE}/assy_Tuckute2024_language.nc"
SHA1 = "5c8fc7f3e24cc1af5f5296459377b638b6492641"
PRESENTATION_COORDS = ["stimulus_id", "stimulus"]
NEUROID_COORDS = ["neuroid_id", "subject_UID"]


def load_tuckute(path=None, url=URL, sha1=SHA1, cache_dir=None, progress=True) -> BrainData:
    """The 1,000 sentences x 1 neuroid. `path` is a local `assy_Tuckute2024_language.nc`; without it
    the file is downloaded once from `url` and its SHA-1 checked."""
    if path is None:
        path = fetch(url, sha1, cache_dir, progress=progress)
    name = "Tuckute2024"
    assembly = read_assembly(path, name, PRESENTATION_COORDS, NEUROID_COORDS)
    stimuli = with_text(coords_table(assembly, "presentation"), "stimulus")
    if np.isnan(assembly.values).any():  # Brain-Score's file has none; a regression cannot use NaN
        raise DataMismatch(f"{name}: {path} has NaN responses")
    neuroids = coords_table(assembly, "neuroid")
    neuroids.insert(1, "subject", neuroids["subject_UID"].astype(str))  # one pooled "subject"
    return BrainData(name=name, stimuli=stimuli, responses=assembly.values, neuroids=neuroids,
                     ceiling=None, synthetic=is_synthetic(assembly), group_by="stimulus_id")
