"""Pereira et al. 2018: fMRI voxel responses to sentences read in short passages (Brain-Score's
`Pereira2018.language`, language-network voxels, 627 sentences x 13,553 voxels of 10 subjects)."""

import logging

import numpy as np

from brainalign.datasets.assembly import coords_table, is_synthetic, read_assembly, with_text
from brainalign.datasets.brain import BrainData
from brainalign.datasets.store import STORE, fetch
from brainalign.errors import ConfigError, DataMismatch

log = logging.getLogger(__name__)

URL = f"{STORE}/assy_Pereira2018_language.nc"
SHA1 = "f8434b4022f5b2c862f0ff2854d5b3f5f2a7fb96"
EXPERIMENTS = ("243sentences", "384sentences")
# Brain-Score's pre-computed ceilings (extrapolated inter-subject predictivity)
CEILINGS = {"243sentences": 0.35378928, "384sentences": 0.36343748}
GROUPINGS = ("passage_label", "passage_index")
PRESENTATION_COORDS = ["experiment", "stimulus_id", "passage_index", "passage_label"]
NEUROID_COORDS = ["subject", "neuroid_id"]


def load_pereira(experiment, path=None, url=URL, sha1=SHA1, cache_dir=None,
                 group_by="passage_label", progress=True) -> BrainData:
    """One experiment ('243sentences' or '384sentences') of the Pereira2018 language assembly.

    `path` is a local copy of `assy_Pereira2018_language.nc`; without it the file is downloaded
    once from `url` into `cache_dir`. As in Brain-Score, only the experiment's rows are kept and
    every voxel with a NaN there is dropped (which drops the subjects who did not do it).
    Passages are fed grouped by `group_by`: 'passage_label' reproduces Brain-Score (in the 243
    experiment a label is a topic of about 3 passages), 'passage_index' groups real passages.
    """
    if experiment not in EXPERIMENTS:
        raise ConfigError(f"unknown Pereira2018 experiment {experiment!r}; "
                          f"choose one of {EXPERIMENTS}")
    if group_by not in GROUPINGS:
        raise ConfigError(f"Pereira2018 group_by must be one of {GROUPINGS}, got {group_by!r}")
    if path is None:
        path = fetch(url, sha1, cache_dir, progress=progress)
    name = f"Pereira2018.{experiment}"
    assembly = read_assembly(path, name, PRESENTATION_COORDS, NEUROID_COORDS)

    stimuli = coords_table(assembly, "presentation")
    if "sentence" not in stimuli and "stimulus" not in stimuli:
        raise DataMismatch(f"{name}: {path} has no 'sentence' or 'stimulus' coordinate (the text)")
    rows = (stimuli["experiment"] == experiment).to_numpy()
    if not rows.any():
        raise DataMismatch(f"{name}: {path} has no rows of experiment {experiment!r}; "
                           f"experiments: {sorted(stimuli['experiment'].unique())}")
    responses = assembly.values[rows]
    keep = ~np.isnan(responses).any(axis=0)
    if not keep.any():
        raise DataMismatch(f"{name}: every voxel has a NaN in experiment {experiment}")
    log.info("%s: keeping %d of %d voxels without NaN", name, keep.sum(), keep.size)

    stimuli = stimuli[rows].reset_index(drop=True)
    stimuli = with_text(stimuli, "sentence" if "sentence" in stimuli else "stimulus")
    neuroids = coords_table(assembly, "neuroid")[keep].reset_index(drop=True)
    return BrainData(name=name, stimuli=stimuli, responses=responses[:, keep], neuroids=neuroids,
                     ceiling=CEILINGS[experiment], synthetic=is_synthetic(assembly),
                     group_by=group_by)

