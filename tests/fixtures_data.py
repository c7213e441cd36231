"""Format-faithful fake Brain-Score assemblies: real stimuli, simulated responses.

The real fMRI responses cannot be fetched offline, so tests write netCDF files laid out like
Brain-Score's (`presentation` x `neuroid`, every label a plain coordinate, zlib-compressed) from
the real stimulus material in the shared data folder, with simulated responses. A known signal can
be planted: responses = features @ weights + noise, so a test can check that it is recovered.
"""

import contextlib
import http.server
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from brainalign.config.paths import shared_dir
from brainalign.datasets import blank_audio
from runif import require

SHARED = shared_dir()   # paths.shared: $BRAINALIGN_SHARED, else ../shared beside the repository
PEREIRA_CSV = SHARED / "data" / "pereira2018" / "Pereira2018_stimulus_set.csv"
NATURALSTORIES = SHARED / "data" / "futrell2018" / "naturalstories"

PEREIRA_SUBJECTS = {"243sentences": ["018", "288", "289"], "384sentences": ["018", "199", "215"]}
BLANK_SUBJECTS = ["061", "085", "088", "090", "098"]
FROIS = ["01_LH_PostTemp", "02_LH_AntTemp", "03_LH_IFG", "04_LH_IFGorb", "05_LH_MFG", "06_LH_AngG",
         "07_RH_PostTemp", "08_RH_AntTemp", "09_RH_IFG", "10_RH_IFGorb", "11_RH_MFG", "12_RH_AngG"]


@dataclass
class FakeAssembly:
    path: Path
    stimuli: pd.DataFrame  # presentation coordinates, in the file's (stored) order
    responses: np.ndarray  # [presentations, neuroids] as written, NaN included
    neuroids: pd.DataFrame
    features: np.ndarray | None  # the planted features, file order
    weights: np.ndarray | None  # [features, neuroids]


def random_features(n, k=8, seed=0) -> np.ndarray:
    """Per-stimulus features to plant as a signal."""
    return np.random.default_rng(seed).standard_normal((n, k))


def simulate(stimuli, n_neuroids, rng, features=None, noise=1.0):
    """Responses [stimuli, neuroids]: pure noise, or features @ weights + noise.

    `features` is an array [len(stimuli), k] in the stimuli's order, or a function of the stimuli
    table that returns one. Each neuroid's weights have unit norm, so with standard-normal features
    the signal has unit variance and `noise` is its noise-to-signal ratio (in standard deviations).
    """
    noise_part = noise * rng.standard_normal((len(stimuli), n_neuroids))
    if features is None:
        return noise_part, None, None
    features = np.asarray(features(stimuli) if callable(features) else features, dtype=float)
    if features.shape[0] != len(stimuli):
        raise ValueError(f"features have {features.shape[0]} rows for {len(stimuli)} stimuli")
    weights = rng.standard_normal((features.shape[1], n_neuroids))
    weights /= np.linalg.norm(weights, axis=0)
    return features @ weights + noise_part, features, weights


def write_assembly(path, responses, stimuli: pd.DataFrame, neuroids: pd.DataFrame, **attrs):
    """Write a `presentation` x `neuroid` assembly the way Brain-Score stores one."""
    coords = {c: ("presentation", stimuli[c].to_numpy()) for c in stimuli.columns}
    coords |= {c: ("neuroid", neuroids[c].to_numpy()) for c in neuroids.columns}
    assembly = xr.DataArray(np.asarray(responses, dtype=float), dims=["presentation", "neuroid"],
                            coords=coords, attrs={"synthetic": 1, **attrs})
    encoding = {"__xarray_dataarray_variable__": {"zlib": True, "complevel": 4}}
    assembly.to_netcdf(path, engine="h5netcdf", encoding=encoding)
    return Path(path)


def write_tiny_assembly(path, n=6, seed=0) -> Path:
    """A few rows and columns in the assembly format; needs no shared data (for download tests)."""
    stimuli = pd.DataFrame({"stimulus_id": [f"243sentences.{i}" for i in range(n)],
                            "sentence": [f"Sentence number {i}." for i in range(n)],
                            "experiment": "243sentences", "passage_index": np.arange(n) // 2 + 1,
                            "passage_label": [f"topic{i // 3}" for i in range(n)]})
    neuroids = pd.DataFrame({"subject": ["018", "018", "288"], "voxel_num": [0, 1, 0]})
    neuroids["neuroid_id"] = neuroids["subject"] + "." + neuroids["voxel_num"].astype(str)
    responses = np.random.default_rng(seed).standard_normal((n, len(neuroids)))
    return write_assembly(path, responses, stimuli, neuroids)


def pereira_stimuli() -> pd.DataFrame:
    """The 627 real Pereira2018 sentences with Brain-Score's presentation coordinates."""
    require(shared=PEREIRA_CSV)
    table = pd.read_csv(PEREIRA_CSV, index_col=0)
    return pd.DataFrame({
        "stimulus_id": table["stimulus_id"], "sentence": table["sentence"],
        "stimulus": table["sentence"], "experiment": table["experiment"],
        "stimulus_num": table["sentence_num"], "passage_index": table["passage_index"],
        "passage_label": table["passage_label"], "passage_category": table["passage_category"],
        "story": table["story"]}).reset_index(drop=True)


def write_fake_pereira(path, seed=0, subjects=None, voxels_per_subject=6, features=None,
                       noise=1.0, stray_nan=False) -> FakeAssembly:
    """A fake `assy_Pereira2018_language.nc`: real sentences, simulated voxels.

    `subjects` maps each experiment to its subjects (default 3 each, one shared); a subject's
    voxels are NaN in the experiment it did not do, as in the real file. `stray_nan` also puts one
    NaN in a voxel of a participating subject (the loader must drop that voxel too).
    """
    rng = np.random.default_rng(seed)
    stimuli = pereira_stimuli()
    subjects = subjects or PEREIRA_SUBJECTS
    everyone = sorted({s for group in subjects.values() for s in group})
    neuroids = pd.DataFrame([(s, v) for s in everyone for v in range(voxels_per_subject)],
                            columns=["subject", "voxel_num"])
    neuroids["neuroid_id"] = neuroids["subject"] + "." + neuroids["voxel_num"].astype(str)
    neuroids["atlas"] = "language"
    neuroids["atlas_selection_lower"] = 90
    neuroids["filter_strategy"] = np.where(neuroids["voxel_num"] % 2 == 0, "", "HminusE")
    neuroids["roi"] = np.where(neuroids["voxel_num"] % 3 == 0, "LH_AntTemp", "LH_PostTemp")

    responses, features, weights = simulate(stimuli, len(neuroids), rng, features, noise)
    for experiment, group in subjects.items():
        absent = ~neuroids["subject"].isin(group).to_numpy()
        responses[np.ix_((stimuli["experiment"] == experiment).to_numpy(), absent)] = np.nan
    if stray_nan:
        first = subjects["243sentences"][0]
        column = neuroids.index[neuroids["subject"] == first][-1]
        row = stimuli.index[stimuli["experiment"] == "243sentences"][5]
        responses[row, column] = np.nan
    write_assembly(path, responses, stimuli, neuroids)
    return FakeAssembly(Path(path), stimuli, responses, neuroids, features, weights)


def blank_stimuli() -> pd.DataFrame:
    """The 1,317 Blank2014 TR fragments from the real audio timings, in Brain-Score's stored order
    (its packaging grouped by the string `stimulus_id`, which sorts them lexicographically)."""
    require(shared=NATURALSTORIES)
    stimuli = blank_audio.blank_stimuli(NATURALSTORIES)
    stimuli["stimulus_sentence"] = stimuli["stimulus"]
    stimuli = stimuli.drop(columns="tr_index")
    order = np.argsort(stimuli["stimulus_id"].to_numpy().astype(str), kind="stable")
    return stimuli.iloc[order].reset_index(drop=True)


def write_fake_blank(path, seed=0, subjects=BLANK_SUBJECTS, frois=FROIS, features=None,
                     noise=1.0, stimuli=None) -> FakeAssembly:
    """A fake `assy_Blank2014_fROI.nc`: real TR fragments, simulated fROI time courses.

    Neuroids are ordered fROI by fROI, subject by subject, as Brain-Score's stacking leaves them.
    Pass `stimuli` (from `blank_stimuli()`) to avoid rebuilding them.
    """
    rng = np.random.default_rng(seed)
    stimuli = blank_stimuli() if stimuli is None else stimuli
    neuroids = pd.DataFrame([(f, s) for f in frois for s in subjects],
                            columns=["fROI_area", "subject_id"])
    neuroids["neuroid_id"] = neuroids["subject_id"] + "." + neuroids["fROI_area"]
    neuroids["region"] = "language"
    responses, features, weights = simulate(stimuli, len(neuroids), rng, features, noise)
    write_assembly(path, responses, stimuli, neuroids)
    return FakeAssembly(Path(path), stimuli, responses, neuroids, features, weights)


def fake_pereira_data(folder, experiment="243sentences", group_by="passage_label", **kwargs):
    """Write a fake Pereira file into `folder` and load one experiment: `(BrainData, FakeAssembly)`.
    `kwargs` go to `write_fake_pereira` (e.g. `features=`, `noise=`, `voxels_per_subject=`)."""
    from brainalign.datasets.pereira import load_pereira
    fake = write_fake_pereira(Path(folder) / "assy_Pereira2018_language.nc", **kwargs)
    return load_pereira(experiment, path=fake.path, group_by=group_by), fake


def fake_blank_data(folder, order="stored", **kwargs):
    """Write a fake Blank2014 file into `folder` and load it: `(BrainData, FakeAssembly)`."""
    from brainalign.datasets.blank import load_blank
    fake = write_fake_blank(Path(folder) / "assy_Blank2014_fROI.nc", **kwargs)
    return load_blank(path=fake.path, order=order), fake


@contextlib.contextmanager
def file_server(folder: Path):
    """A real HTTP server on loopback serving `folder` (query strings such as ?versionId= ignored):
    yields (base url, the request paths it received)."""
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            hits.append(self.path)
            self.path = self.path.split("?")[0]
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             lambda *a, **k: Handler(*a, directory=str(folder), **k))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
