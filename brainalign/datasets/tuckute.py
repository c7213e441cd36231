"""Tuckute et al. 2024 (Nature Human Behaviour): the language network's fMRI response to 1,000
sentences chosen to drive, suppress or sample it (Brain-Score's `Tuckute2024.language`).

One neuroid: the left-hemisphere language network (`lang_LH_netw`), averaged over the 5 train
participants (848, 853, 865, 875, 876), z-scored. Each sentence is a passage of its own: it is
fed to the model alone, without context, as Brain-Score does. There is no ceiling (Brain-Score's
benchmark has `ceiling=None`)."""

from brainalign.datasets.brain import BrainData
from brainalign.datasets.store import STORE
from brainalign.datasets.subject_assembly import load_subject_assembly

URL = f"{STORE}/assy_Tuckute2024_language.nc"
SHA1 = "5c8fc7f3e24cc1af5f5296459377b638b6492641"
PRESENTATION_COORDS = ["stimulus_id", "stimulus"]


def load_tuckute(path=None, url=URL, sha1=SHA1, cache_dir=None, progress=True) -> BrainData:
    """The 1,000 sentences x 1 neuroid. `path` is a local `assy_Tuckute2024_language.nc`; without it
    the file is downloaded once from `url` and its SHA-1 checked."""
    return load_subject_assembly("Tuckute2024", path, url, sha1, cache_dir, progress, PRESENTATION_COORDS, "stimulus_id")
