"""Pereira2018 loading from a format-faithful fake assembly (real sentences, simulated voxels)."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brainalign.datasets.brain import BrainData
from brainalign.datasets.pereira import load_pereira
from brainalign.errors import ConfigError, DataMismatch, DataUnavailable
from tests.fixtures_data import (PEREIRA_SUBJECTS, fake_pereira_data, random_features,
                                 write_fake_pereira)

VOXELS = 6


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    path = tmp_path_factory.mktemp("pereira") / "assy_Pereira2018_language.nc"
    return write_fake_pereira(path, seed=0, voxels_per_subject=VOXELS, stray_nan=True,
                              features=random_features(627, k=4, seed=1), noise=0.1)


@pytest.mark.parametrize("experiment, n, first, last", [
    ("243sentences", 243, "Beekeeping encourages the conservation of local habitats.",
     "This has led to more injuries, particularly to ligaments in the skier's knee."),
    ("384sentences", 384, "An accordion is a portable musical instrument with two keyboards.",
     "A woman has different reproductive organs than a man.")])
def test_loads_one_experiment(fake, experiment, n, first, last):
    data = load_pereira(experiment, path=fake.path)
    assert data.name == f"Pereira2018.{experiment}"
    assert data.responses.shape[0] == n == len(data.stimuli)
    assert data.stimuli["stimulus_id"].str.startswith(experiment + ".").all()
    assert data.texts[0] == first and data.texts[-1] == last
    assert sorted(set(data.subjects)) == sorted(PEREIRA_SUBJECTS[experiment])
    assert not np.isnan(data.responses).any()
    assert data.synthetic is True
    assert data.ceiling == {"243sentences": 0.35378928, "384sentences": 0.36343748}[experiment]


def test_drops_every_voxel_with_a_nan(fake):
    data = load_pereira("243sentences", path=fake.path)
    assert data.responses.shape[1] == 3 * VOXELS - 1  # the stray NaN costs one voxel
    assert "018.5" not in set(data.neuroids["neuroid_id"])
    assert "018.5" in set(load_pereira("384sentences", path=fake.path).neuroids["neuroid_id"])


def test_rows_and_columns_keep_their_labels(fake):
    """The planted signal comes back where it was put: no row or column was shuffled."""
    for experiment in ("243sentences", "384sentences"):
        data = load_pereira(experiment, path=fake.path)
        rows = fake.stimuli["stimulus_id"].isin(data.stimuli["stimulus_id"]).to_numpy()
        columns = fake.neuroids["neuroid_id"].isin(data.neuroids["neuroid_id"]).to_numpy()
        expected = fake.features[rows] @ fake.weights[:, columns]
        assert (fake.stimuli["stimulus_id"][rows].to_numpy() == data.stimuli["stimulus_id"]).all()
        np.testing.assert_array_equal(data.responses, fake.responses[np.ix_(rows, columns)])
        r = [np.corrcoef(expected[:, j], data.responses[:, j])[0, 1] for j in range(columns.sum())]
        assert min(r) > 0.9


def test_passages_by_label_reproduce_brainscore(fake):
    data = load_pereira("243sentences", path=fake.path)
    passages = data.passages()
    labels = [data.stimuli["passage_label"][p].unique() for p in passages]
    assert all(len(label) == 1 for label in labels)  # context never crosses a label
    assert [label[0] for label in labels] == sorted(data.stimuli["passage_label"].unique())
    assert len(passages) == 24 and {len(p) for p in passages} <= set(range(9, 12))
    assert all(p == sorted(p) for p in passages)  # stored order within a passage
    assert sorted(i for p in passages for i in p) == list(range(243))
    assert data.stimuli["passage_label"][passages[0][0]] == "astronaut"
    assert data.texts[passages[0][0]] == "Astronauts train a long time for their spacewalks."

    data384 = load_pereira("384sentences", path=fake.path)
    assert [len(p) for p in data384.passages()] == [4] * 96


def test_passages_by_index(fake):
    data = load_pereira("243sentences", path=fake.path, group_by="passage_index")
    passages = data.passages()
    assert len(passages) == 72 and {len(p) for p in passages} <= {3, 4}
    assert [data.stimuli["passage_index"][p[0]] for p in passages] == list(range(1, 73))


def test_bad_arguments(fake):
    with pytest.raises(ConfigError, match="experiment"):
        load_pereira("999sentences", path=fake.path)
    with pytest.raises(ConfigError, match="group_by"):
        load_pereira("243sentences", path=fake.path, group_by="topic")
    with pytest.raises(DataUnavailable, match="dataset.path"):
        load_pereira("243sentences", path=fake.path.parent / "missing.nc")


def test_offline_without_a_file_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAINALIGN_OFFLINE", "1")
    with pytest.raises(DataUnavailable) as error:
        load_pereira("384sentences", cache_dir=tmp_path)
    message = str(error.value)
    assert "https://brainscore-storage.s3.amazonaws.com/brainscore-language/" \
           "assy_Pereira2018_language.nc" in message
    assert "dataset.path=/path/to/assy_Pereira2018_language.nc" in message


def test_format_mismatches_name_what_is_missing(fake, tmp_path):
    stored = xr.open_dataarray(fake.path).load()
    stored.drop_vars(["passage_label", "subject"]).to_netcdf(tmp_path / "a.nc", engine="h5netcdf")
    with pytest.raises(DataMismatch, match="passage_label"):
        load_pereira("243sentences", path=tmp_path / "a.nc")
    stored.rename({"neuroid": "voxel"}).to_netcdf(tmp_path / "b.nc", engine="h5netcdf")
    with pytest.raises(DataMismatch, match="dims"):
        load_pereira("243sentences", path=tmp_path / "b.nc")
    (tmp_path / "c.nc").write_text("not a netCDF file")
    with pytest.raises(DataMismatch, match="not a readable netCDF"):
        load_pereira("243sentences", path=tmp_path / "c.nc")
    stored.sel(presentation=stored["experiment"] == "384sentences").to_netcdf(
        tmp_path / "d.nc", engine="h5netcdf")
    with pytest.raises(DataMismatch, match="no rows of experiment"):
        load_pereira("243sentences", path=tmp_path / "d.nc")


def test_neuroid_dim_first_is_accepted(fake, tmp_path):
    stored = xr.open_dataarray(fake.path).load()
    stored.T.to_netcdf(tmp_path / "t.nc", engine="h5netcdf")
    a = load_pereira("384sentences", path=fake.path)
    b = load_pereira("384sentences", path=tmp_path / "t.nc")
    np.testing.assert_array_equal(a.responses, b.responses)


# BrainData's own checks

def _table(ids, groups):
    return pd.DataFrame({"stimulus_id": ids, "text": ids, "passage_label": groups})


def test_brain_data_validation():
    neuroids = pd.DataFrame({"neuroid_id": ["a", "b"], "subject": ["1", "1"]})
    with pytest.raises(DataMismatch, match="shape"):
        BrainData("x", _table(["s1", "s2"], ["p", "p"]), np.zeros((3, 2)), neuroids)
    with pytest.raises(DataMismatch, match="stimulus_id must be unique.*s1"):
        BrainData("x", _table(["s1", "s1"], ["p", "p"]), np.zeros((2, 2)), neuroids)
    with pytest.raises(DataMismatch, match="text"):
        BrainData("x", _table(["s1"], ["p"]).drop(columns="text"), np.zeros((1, 2)), neuroids)
    with pytest.raises(DataMismatch, match="subject"):
        BrainData("x", _table(["s1"], ["p"]), np.zeros((1, 2)), neuroids.drop(columns="subject"))


def test_brain_data_passages_follow_the_rule():
    stimuli = _table(["c1", "a1", "c2", "b1", "a2"], ["c", "a", "c", "b", "a"])
    stimuli["position"] = [2, 2, 1, 1, 1]
    neuroids = pd.DataFrame({"neuroid_id": ["n"], "subject": ["1"]})
    data = BrainData("x", stimuli, np.zeros((5, 1)), neuroids)
    assert data.passages() == [[1, 4], [3], [0, 2]]
    data = BrainData("x", stimuli, np.zeros((5, 1)), neuroids, order_by=["position"])
    assert data.passages() == [[4, 1], [3], [2, 0]]


def test_fake_data_helper_plants_a_recoverable_signal(tmp_path):
    """What other tests use: per-sentence features in, responses = features @ weights + noise."""
    def features(stimuli):  # any function of the stimulus table, in file order
        return np.column_stack([stimuli["sentence"].str.len(), stimuli["passage_index"]])
    data, fake = fake_pereira_data(tmp_path, "384sentences", features=features, noise=0.01)
    X = np.column_stack([data.stimuli["sentence"].str.len(), data.stimuli["passage_index"]])
    weights = fake.weights[:, fake.neuroids["neuroid_id"].isin(data.neuroids["neuroid_id"])]
    np.testing.assert_allclose(data.responses, X @ weights, atol=0.1)
