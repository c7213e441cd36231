"""Cross-validation protocols (metric.cv), Brain-Score's ridge ceilings and their provenance."""

import hashlib

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from omegaconf import OmegaConf

from brainalign.benchmarks.brain import score_part, summarize
from brainalign.benchmarks.ceilings import blank_ceiling, pereira_ridge_ceiling
from brainalign.benchmarks.protocols import metric_arguments, protocol_names, protocol_splits
from brainalign.datasets.brain import BrainData
from brainalign.errors import ConfigError, DataMismatch
from brainalign.metrics import linear_predictivity, ridge_predictivity
from brainalign.metrics.protocols import score_protocol
from brainalign.metrics.splits import contiguous_splits, group_splits, shuffle_splits
from fixtures_data import file_server

LINEAR = {"kind": "linear", "group": {"by": "story", "n_splits": 4}, "contiguous": {"n_splits": 5}}


def small_data(n_groups=8, per_group=6, seed=0, ceiling=0.5, subjects=("a", "a", "a", "b", "b", "b")):
    rng = np.random.default_rng(seed)
    n, m = n_groups * per_group, len(subjects)
    stimuli = pd.DataFrame({"stimulus_id": [f"s{i}" for i in range(n)], "text": [f"word {i}." for i in range(n)],
                            "story": np.repeat([f"g{g}" for g in range(n_groups)], per_group)})
    neuroids = pd.DataFrame({"neuroid_id": [f"v{j}" for j in range(m)], "subject": list(subjects)})
    X = rng.standard_normal((2, n, 5))
    Y = X[1] @ rng.standard_normal((5, m)) + rng.standard_normal((n, m))
    return BrainData("small", stimuli, Y, neuroids, ceiling=ceiling, group_by="story"), X


def test_contiguous_folds_are_consecutive_runs_within_each_block_and_trim_drops_neighbours():
    blocks = np.repeat(["x", "y"], 10)
    splits = contiguous_splits(20, n_splits=5, blocks=blocks)
    assert sorted(np.concatenate([t for _, t in splits]).tolist()) == list(range(20))  # a partition
    assert splits[1][1].tolist() == [2, 3, 12, 13]  # the 2nd run of each block
    assert set(splits[1][0]) == set(range(20)) - {2, 3, 12, 13}
    trimmed = contiguous_splits(20, n_splits=5, blocks=blocks, trim=1)
    assert trimmed[1][1].tolist() == [2, 3, 12, 13]
    assert set(trimmed[1][0]) == set(range(20)) - {1, 2, 3, 4, 11, 12, 13, 14}
    assert [t.tolist() for _, t in contiguous_splits(6, n_splits=3)] == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(ValueError, match="fewer than n_splits"):
        contiguous_splits(4, n_splits=5)


def test_protocol_scores_equal_the_metrics_on_the_same_splits():
    data, X = small_data()
    subjects = np.asarray(data.subjects, dtype=str)
    linear = score_protocol(X, data.responses, shuffle_splits(len(X[0])), "linear", subjects=subjects)
    reference = linear_predictivity(X, data.responses, subjects=subjects)
    assert [s.raw for s in linear] == [s.raw for s in reference]
    groups = data.stimuli["story"].to_numpy()
    ridge = score_protocol(X, data.responses, group_splits(groups, 4), "ridge", subjects=subjects)
    reference = ridge_predictivity(X, data.responses, groups=groups, n_splits=4, subjects=subjects)
    assert [s.raw for s in ridge] == [s.raw for s in reference]
    assert np.array_equal(ridge[1].alphas, reference[1].alphas)
    with pytest.raises(ValueError, match="cka"):
        score_protocol(X, data.responses, group_splits(groups, 4), "cka")


def test_the_metric_config_becomes_the_metrics_arguments():
    data, X = small_data()
    assert metric_arguments(OmegaConf.create({"kind": "linear"})) == {
        "kind": "linear", "correlation": "batched", "backend": "auto", "rcond": None, "alphas": None,
        "n_components": None, "reduce": None, "reduce_seed": 0}
    cfg = OmegaConf.create({"kind": "ridge", "alphas": [1.0, 100.0], "correlation": "scipy"})
    splits = group_splits(data.stimuli["story"].to_numpy(), 4)
    ridge = score_protocol(X, data.responses, splits, **metric_arguments(cfg))
    reference = ridge_predictivity(X, data.responses, splits=splits, alphas=np.array([1.0, 100.0]), correlation="scipy")
    assert [s.raw for s in ridge] == [s.raw for s in reference]
    assert set(np.ravel(ridge[1].alphas)) <= {1.0, 100.0}
    with pytest.raises(ConfigError, match="metric.kind='cka'"):
        metric_arguments(OmegaConf.create({"kind": "cka"}))


def test_group_protocol_holds_out_whole_groups_and_errors_are_one_line():
    data, _ = small_data()
    for train, test in protocol_splits("group", data, OmegaConf.create(LINEAR)):
        assert not set(data.stimuli["story"][train]) & set(data.stimuli["story"][test])
    with pytest.raises(ConfigError, match="not a stimulus column"):
        protocol_splits("group", data, OmegaConf.create({"group": {"by": "passage"}}))
    with pytest.raises(ConfigError, match="metric.cv=group on small: .*8"):
        protocol_splits("group", data, OmegaConf.create({"group": {"n_splits": 10}}))
    with pytest.raises(ConfigError, match="metric.cv"):
        protocol_names(OmegaConf.create({"kind": "linear", "cv": ["shuffle", "blocked"]}))


def test_several_protocols_in_one_call_keep_the_first_as_top_level():
    data, X = small_data()
    cfg = OmegaConf.create({**LINEAR, "cv": ["shuffle", "group", "contiguous"]})
    result = summarize([score_part(data, X, cfg)], ["l0", "l1"])
    assert list(result["protocols"]) == ["shuffle", "group", "contiguous"] and result["protocol"] == "shuffle"
    only_group = summarize([score_part(data, X, OmegaConf.create({**LINEAR, "cv": "group"}))], ["l0", "l1"])
    assert result["protocols"]["group"]["per_layer"] == only_group["per_layer"]
    assert result["per_layer"] == result["protocols"]["shuffle"]["per_layer"]
    assert result["per_layer"] != result["protocols"]["group"]["per_layer"]
    assert result["protocols"]["group"]["splits"]["n_splits"] == 4


def test_metric_names_carry_non_default_protocols(make_config, tmp_path):
    assert make_config().metric.name == "linear"
    assert make_config("metric.cv=[shuffle,group]").metric.name == "linear-shuffle+group"
    assert make_config("metric=ridge").metric.name == "ridge"
    cfg = make_config("metric=ridge", "dataset=blank", "metric.cv=contiguous")
    assert cfg.metric.name == "ridge-contiguous" and cfg.metric.group.n_splits == 8
    assert make_config("metric=linear", "metric.n_splits=5").metric.shuffle.n_splits == 5
    assert make_config("metric=linear-2023", "metric.cv=group").metric.name == "linear-2023-group"


# ---- ceilings -------------------------------------------------------------------------------------

@pytest.fixture
def store(make_config, tmp_path, monkeypatch):
    """A loopback 'bucket' holding a ceiling file: (dataset config, sha1, hits)."""
    monkeypatch.delenv("BRAINALIGN_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    folder = tmp_path / "bucket"
    folder.mkdir()
    path = folder / "ceiling_Pereira2018_243sentences-ridge.nc"
    xr.DataArray(0.2875).to_dataset(name="data").to_netcdf(path, engine="h5netcdf")  # a scalar Score
    sha1 = hashlib.sha1(path.read_bytes()).hexdigest()
    with file_server(folder) as (base, hits):
        cfg = make_config("dataset=pereira").dataset
        cfg.url = f"{base}/assy_Pereira2018_language.nc"
        cfg.ridge_ceilings["243sentences"].sha1 = sha1
        yield cfg, sha1, hits


def test_pereira_ridge_ceiling_is_fetched_by_version_id_checked_and_cached(store):
    cfg, sha1, hits = store
    value, source = pereira_ridge_ceiling("243sentences", cfg)
    assert value == pytest.approx(0.2875)
    assert hits == ["/ceiling_Pereira2018_243sentences-ridge.nc?versionId=r3xGy2REPZfE7h1oFSnsNg5Rml9R5Ulz"]
    assert source["kind"] == "stored" and source["metric"] == "ridge" and source["sha1"] == sha1
    assert pereira_ridge_ceiling("243sentences", cfg)[0] == value and len(hits) == 1  # cached
    cfg.ridge_ceilings["243sentences"].sha1 = "0" * 40  # the cached copy no longer matches: fetched, refused
    with pytest.raises(DataMismatch, match="SHA-1"):
        pereira_ridge_ceiling("243sentences", cfg)


def test_blank_ceiling_follows_the_metric(tmp_path):
    data, _ = small_data(n_groups=8, per_group=5, ceiling=0.21026591, subjects=("a", "b", "c"))  # a fit per neuroid
    cfg = OmegaConf.create({"ceiling": "brainscore", "cache_dir": str(tmp_path)})
    value, source = blank_ceiling(data, cfg, OmegaConf.create({"kind": "linear"}))
    assert value == 0.21026591 and source["kind"] == "stored"
    ridge = OmegaConf.create({"kind": "ridge", "group": {"by": "story", "n_splits": 8, "random_state": 1234}})
    value, source = blank_ceiling(data, cfg, ridge)
    assert source == {**source, "kind": "computed", "metric": "ridge", "protocol": "group"}
    assert np.isfinite(value) and value != 0.21026591
    assert blank_ceiling(data, cfg, ridge)[0] == value  # from the cache
    with pytest.raises(ConfigError, match="stores no Blank2014 ceiling"):
        blank_ceiling(data, OmegaConf.create({"ceiling": "stored", "cache_dir": str(tmp_path)}), ridge)


def test_flat_settings_still_configure_the_metrics_own_protocol():
    data, _ = small_data()
    flat = OmegaConf.create({"kind": "ridge", "group_by": "story", "n_splits": 4, "random_state": 7})
    assert [t.tolist() for _, t in protocol_splits("group", data, flat)] == \
        [t.tolist() for _, t in group_splits(data.stimuli["story"].to_numpy(), 4, 7)]
    assert len(protocol_splits("shuffle", data, OmegaConf.create({"kind": "linear", "n_splits": 3}))) == 3


def test_a_missing_stored_ridge_ceiling_keeps_the_raw_score(make_config, tiny_gpt2, tmp_path, capsys):
    """A user's own Pereira2018-format file, metric=ridge, offline: scored, ceiled null with the reason
    and one well-formed key=value to get the ceiling; dataset.ceiling chooses explicitly."""
    from brainalign.app.run import run
    from brainalign.errors import DataUnavailable
    from fixtures_data import write_fake_pereira

    path = write_fake_pereira(tmp_path / "mine.nc", voxels_per_subject=4).path

    def score(*extra):
        return run(make_config(*tiny_gpt2, "dataset=pereira_243", f"dataset.path={path}", "metric=ridge", *extra))

    result = score()
    printed = capsys.readouterr().out
    assert isinstance(result["raw"], float) and result["ceiled"] is None and result["ceiling"] is None
    assert result["ceiling_source"]["kind"] == "missing" and "offline" in result["ceiling_source"]["reason"]
    assert "no ceiling ceiling_Pereira2018_243sentences-ridge.nc, ceiled is null" in printed
    assert "dataset.ridge_ceiling_dir=/path/to/its/folder" in printed and "(its folder)" not in printed
    assert "dataset.ceiling=compute" in printed
    score()
    assert "already done" in (again := capsys.readouterr().out) and "no ceiling" in again
    with pytest.raises(ConfigError, match="other settings"):   # the ceiling is a setting: force=true replaces
        score("dataset.ceiling=none")
    none = score("dataset.ceiling=none", "force=true")
    assert none["raw"] == result["raw"] and none["ceiled"] is None and none["ceiling_source"]["kind"] == "none"
    with pytest.raises(DataUnavailable, match="cannot download ceiling_Pereira2018_243sentences-ridge.nc"):
        score("dataset.ceiling=stored", "force=true")
    with pytest.raises(ConfigError, match="dataset.ceiling='bogus'"):
        score("dataset.ceiling=bogus", "force=true")
    given = score("dataset.ceiling=0.5", "force=true")
    assert given["ceiled"] == pytest.approx(min(1.0, result["raw"] / 0.5))


def test_pereira_ceiling_computed_from_the_data(make_config, tiny_gpt2, tmp_path):
    from brainalign.app.run import run
    from fixtures_data import write_fake_pereira

    path = write_fake_pereira(tmp_path / "mine.nc", voxels_per_subject=2).path  # 600 curve fits, not 1200
    computed = run(make_config(*tiny_gpt2, "dataset=pereira_243", f"dataset.path={path}", "metric=ridge",
                               "dataset.ceiling=compute"))
    assert computed["ceiling_source"]["kind"] == "computed" and "pereira variant" in computed["ceiling_source"]["method"]
    assert 0 < computed["ceiling"] <= 1 and computed["ceiled"] is not None
