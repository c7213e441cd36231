"""Blank et al. 2014: fMRI of people listening to 8 Natural Stories (Brain-Score's `Blank2014.fROI`:
1,317 TRs x 60 neuroids = 5 subjects x 12 language fROIs, each the mean time course of its voxels).

Each TR's stimulus is the text fragment heard just before it (see `blank_audio`)."""

import logging

import numpy as np

from brainalign.datasets.assembly import coords_table, is_synthetic, read_assembly, with_text
from brainalign.datasets.brain import BrainData
from brainalign.datasets.store import STORE, fetch
from brainalign.errors import ConfigError, DataMismatch

log = logging.getLogger(__name__)

URL = f"{STORE}/assy_Blank2014_fROI.nc"
SHA1 = "af1e868821b897cb1684e4c8dcd33977121ef552"
CEILING = 0.21026591  # Brain-Score's extrapolated inter-subject ceiling
ORDERS = {"stored": None,  # Brain-Score feeds a story's fragments in the file's order
          "chronological": ["sentence_number_in_story", "part_number_in_sentence"]}
PRESENTATION_COORDS = ["stimulus_id", "story", "sentence_number_in_story",
                       "part_number_in_sentence"]
NEUROID_COORDS = ["subject_id", "fROI_area", "neuroid_id"]


def load_blank(path=None, url=URL, sha1=SHA1, cache_dir=None, order="stored",
               progress=True) -> BrainData:
    """The Blank2014 fROI time courses, one row per TR in the file's stored order.

    `path` is a local copy of `assy_Blank2014_fROI.nc`; without it the file is downloaded once.
    Stories are fed in sorted order; within a story, `order="stored"` feeds the fragments in the
    file's order as Brain-Score does (which is lexicographic in `stimulus_id`, so partly out of
    time order), `order="chronological"` in story order. Fragment texts are kept exactly (many
    end with a space).
    """
    if order not in ORDERS:
        raise ConfigError(f"Blank2014 order must be one of {list(ORDERS)}, got {order!r}")
    if path is None:
        path = fetch(url, sha1, cache_dir, progress=progress)
    name = "Blank2014"
    assembly = read_assembly(path, name, PRESENTATION_COORDS, NEUROID_COORDS)

    stimuli = coords_table(assembly, "presentation")
    text = next((c for c in ("stimulus", "stimulus_sentence") if c in stimuli), None)
    if text is None:
        raise DataMismatch(f"{name}: {path} has no 'stimulus' or 'stimulus_sentence' coordinate")
    stimuli = with_text(stimuli, text)
    neuroids = coords_table(assembly, "neuroid")
    if "subject" not in neuroids:
        neuroids.insert(1, "subject", neuroids["subject_id"])

    responses = assembly.values
    keep = ~np.isnan(responses).any(axis=0)
    if not keep.all():  # Brain-Score's file has none; a regression cannot use NaN targets
        log.warning("%s: dropping %d neuroids with NaN values: %s", name, (~keep).sum(),
                    neuroids["neuroid_id"][~keep].tolist())
    return BrainData(name=name, stimuli=stimuli, responses=responses[:, keep],
                     neuroids=neuroids[keep].reset_index(drop=True), ceiling=CEILING,
                     synthetic=is_synthetic(assembly), group_by="story", order_by=ORDERS[order])
