"""Blank2014 loading from a format-faithful fake assembly (real TR fragments, simulated fROIs)."""

import numpy as np
import pytest
import xarray as xr

from brainalign.datasets.blank import load_blank
from brainalign.datasets.blank_audio import BLANK_STORIES, STORIES, story_tokens
from brainalign.errors import ConfigError, DataMismatch, DataUnavailable
from tests.fixtures_data import NATURALSTORIES, random_features, write_fake_blank

# Brain-Score's own data test: Boar's first 10 fragments in time order
BOAR_START = ("If you were to journey to the North of England, you would come to a valley that is "
              "surrounded by moors as high as mountains. It is in this valley where you would find "
              "the city of Bradford, where once a thousand spinning jennies that hummed and "
              "clattered spun wool into money for the long-bearded mill owners. That all mill "
              "owners were generally busy as beavers ")


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    path = tmp_path_factory.mktemp("blank") / "assy_Blank2014_fROI.nc"
    return write_fake_blank(path, seed=0, features=random_features(1317, k=3, seed=2), noise=0.1)


@pytest.fixture(scope="module")
def stored(fake):
    return load_blank(path=fake.path)


@pytest.fixture(scope="module")
def chronological(fake):
    return load_blank(path=fake.path, order="chronological")


def test_shape_and_labels(stored, fake):
    assert stored.name == "Blank2014" and stored.ceiling == 0.21026591 and stored.synthetic
    assert stored.responses.shape == (1317, 60)
    assert sorted(set(stored.subjects)) == ["061", "085", "088", "090", "098"]
    assert stored.neuroids["fROI_area"].nunique() == 12
    assert sorted(stored.stimuli["story"].unique()) == BLANK_STORIES
    assert "Once upon a " in set(stored.texts)
    np.testing.assert_array_equal(stored.responses, fake.responses)
    planted = fake.features @ fake.weights
    assert min(np.corrcoef(planted[:, j], stored.responses[:, j])[0, 1] for j in range(60)) > 0.9


def test_rows_are_in_the_stored_lexicographic_order(stored):
    ids = stored.stimuli["stimulus_id"].tolist()
    assert ids == sorted(ids)
    assert ids.index("Boar.10.0") < ids.index("Boar.2.0")


def test_texts_survive_the_file_exactly(stored, fake):
    assert stored.texts == fake.stimuli["stimulus"].tolist()
    assert sum(t.endswith(" ") for t in stored.texts) > 1200


def test_chronological_order_reproduces_each_story(chronological):
    passages = chronological.passages()
    assert [chronological.stimuli["story"][p[0]] for p in passages] == BLANK_STORIES
    numbers = {name: number for number, name in STORIES.items()}
    for rows in passages:
        story = chronological.stimuli["story"][rows[0]]
        assert (chronological.stimuli["story"][rows] == story).all()
        text = "".join(chronological.stimuli["text"][rows])
        assert text == " ".join(story_tokens(NATURALSTORIES / "all_stories.tok", numbers[story]))
    boar = passages[BLANK_STORIES.index("Boar")]
    assert "".join(chronological.stimuli["text"][boar[:10]]) == BOAR_START


def test_stored_order_differs_from_time_order(stored, chronological):
    assert stored.stimuli.equals(chronological.stimuli)  # same rows; only the feeding order differs
    stored_passages, time_passages = stored.passages(), chronological.passages()
    assert [sorted(p) for p in stored_passages] == [sorted(p) for p in time_passages]
    assert all(p == sorted(p) for p in stored_passages)  # the file's order within a story
    differ = [a != b for a, b in zip(stored_passages, time_passages)]
    assert all(differ)  # every story has more than 10 sentences, so '10' sorts before '2'
    boar = stored_passages[BLANK_STORIES.index("Boar")]
    assert "".join(stored.stimuli["text"][boar[:10]]) != BOAR_START


def test_bad_order_and_missing_file(fake):
    with pytest.raises(ConfigError, match="order"):
        load_blank(path=fake.path, order="random")
    with pytest.raises(DataUnavailable):
        load_blank(path=fake.path.parent / "missing.nc")


def test_missing_coordinate_is_named(fake, tmp_path):
    data = xr.open_dataarray(fake.path).load()
    data.drop_vars("part_number_in_sentence").to_netcdf(tmp_path / "a.nc", engine="h5netcdf")
    with pytest.raises(DataMismatch, match="part_number_in_sentence"):
        load_blank(path=tmp_path / "a.nc")


def test_neuroids_with_nan_are_dropped(fake, tmp_path):
    data = xr.open_dataarray(fake.path).load()
    data[3, 7] = np.nan
    data.to_netcdf(tmp_path / "n.nc", engine="h5netcdf")
    loaded = load_blank(path=tmp_path / "n.nc")
    assert loaded.responses.shape == (1317, 59)
    assert data["neuroid_id"].values[7] not in set(loaded.neuroids["neuroid_id"])


def test_offline_without_a_file_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataUnavailable, match="assy_Blank2014_fROI.nc") as error:
        load_blank(cache_dir=tmp_path)
    assert "dataset.path=/path/to/assy_Blank2014_fROI.nc" in str(error.value)
