"""Tuckute2024 and Fedorenko2016: loading, presentation, scoring and errors, on files with the real
coordinates and synthetic values: written with xarray here (quick), and by Brain-Score's own
write_netcdf in its venv (slow: a subprocess), which must load the same."""

import numpy as np
import pytest
import xarray as xr
from omegaconf import OmegaConf

from brainalign.benchmarks.brain import metric_ceiling, score_layers, score_part
from brainalign.datasets.fedorenko import load_fedorenko
from brainalign.datasets.store import sha1_of
from brainalign.datasets.tuckute import load_tuckute
from brainalign.errors import DataMismatch, DataUnavailable
from brainalign.app.run import run
from fixtures_brainscore import crosscheck, write_brainscore_assembly, write_local_assembly


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Both assemblies with a planted signal; the planted features ride along."""
    folder = tmp_path_factory.mktemp("brainscore_files")
    out = {}
    for dataset in ("tuckute2024", "fedorenko2016"):
        responses, features = crosscheck().planted(dataset)
        info = write_local_assembly(dataset, folder / f"{dataset}.nc", values=responses)
        out[dataset] = dict(info, responses=responses, features=features)
    return out


@pytest.mark.slow
def test_brainscores_own_files_load_the_same_and_share_the_checksum(files, tmp_path):
    """Brain-Score's write_netcdf gives the files these tests use the layout of; ours read them the
    same, and our SHA-1 of a file is the one write_netcdf reports for it."""
    for dataset, load in (("tuckute2024", load_tuckute), ("fedorenko2016", load_fedorenko)):
        info = write_brainscore_assembly(dataset, tmp_path / f"{dataset}.nc", values=files[dataset]["responses"])
        assert sha1_of(info["path"]) == info["sha1"]
        theirs, ours = load(path=info["path"]), load(path=files[dataset]["path"])
        np.testing.assert_array_equal(theirs.responses, ours.responses)
        assert theirs.stimuli.astype(str).equals(ours.stimuli.astype(str))
        assert theirs.neuroids.astype(str).equals(ours.neuroids.astype(str)) and theirs.synthetic


def test_tuckute_loads_one_neuroid_and_feeds_each_sentence_alone(files):
    data = load_tuckute(path=files["tuckute2024"]["path"])
    assert data.responses.shape == (1000, 1) and data.ceiling is None and data.synthetic
    assert data.neuroids["subject"].tolist() == ["848-853-865-875-876"]
    np.testing.assert_array_equal(data.responses, files["tuckute2024"]["responses"])
    passages = data.passages()
    assert len(passages) == 1000 and all(len(p) == 1 for p in passages)
    assert data.texts[0] == "Alex was tired on day 0."


def test_fedorenko_loads_words_in_sentences(files):
    data = load_fedorenko(path=files["fedorenko2016"]["path"])
    assert data.responses.shape == (416, 97) and data.ceiling is None
    assert sorted(set(data.subjects)) == ["1", "2", "3", "4", "5"]
    assert (data.neuroids["subject"].value_counts().sort_index().tolist()) == [47, 8, 9, 15, 18]
    passages = data.passages()
    assert len(passages) == 52 and all(len(p) == 8 for p in passages)
    assert " ".join(data.texts[i] for i in passages[0]) == "ALEX WAS TIRED SO HE TOOK A NAP"
    assert all(data.stimuli["word_num"][p].tolist() == list(range(8)) for p in passages)


def test_planted_signal_is_found_in_its_layer(files):
    data = load_tuckute(path=files["tuckute2024"]["path"])
    X = files["tuckute2024"]["features"]
    for metric in (dict(kind="linear"), dict(kind="ridge", group_by=None, random_state=1)):
        noise, signal = (s.raw for s in score_layers(X, data, OmegaConf.create(metric)))
        assert signal > 0.5 > abs(noise), metric
    part = score_part(data, X, OmegaConf.create({"kind": "linear"}), ceiled=False)
    assert part["ceiled"] is None and part["ceiling"] is None


@pytest.mark.slow  # a computed ceiling: ~20 s
def test_fedorenko_ceiling_is_computed_with_the_metric_and_cached(files, tmp_path):
    data = load_fedorenko(path=files["fedorenko2016"]["path"])
    linear = OmegaConf.create({"name": "linear", "kind": "linear"})
    value = metric_ceiling(data, linear, tmp_path, fit="vectorized")
    assert 0.3 < value <= 1  # a shared signal drives every electrode
    assert len(list((tmp_path / "ceilings").glob("*.npz"))) == 1
    assert metric_ceiling(data, linear, tmp_path, fit="vectorized") == value  # from the cache
    ridge = OmegaConf.create({"name": "ridge", "kind": "ridge", "group_by": "sentence_id", "random_state": 1234})
    metric_ceiling(data, ridge, tmp_path, fit="vectorized")
    assert len(list((tmp_path / "ceilings").glob("*.npz"))) == 2  # another metric, another ceiling


@pytest.mark.slow  # every new benchmark through the app: ~17 s
def test_runs_end_to_end_through_the_app(make_config, tiny_gpt2, files, tiny_models, tmp_path, capsys):
    result = run(make_config(*tiny_gpt2, "dataset=tuckute2024",
                        f"dataset.path={files['tuckute2024']['path']}", "metric=ridge"))
    assert result["ceiled"] is None and result["ceiling"] is None and result["n_layers"] == 3
    assert all(row["ceiled"] is None for row in result["per_layer"]) and np.isfinite(result["raw"])
    assert result["settings"]["metric"]["group_by"] is None and result["settings"]["metric"]["random_state"] == 1
    assert "ceiled n/a" in capsys.readouterr().out
    result = run(make_config(*tiny_gpt2, "dataset=fedorenko2016",
                        f"dataset.path={files['fedorenko2016']['path']}", "dataset.ceiling_fit=vectorized",
                        "metric=ridge"))
    assert result["settings"]["metric"]["group_by"] == "sentence_id" and result["n_layers"] == 3
    assert 0 < result["ceiling"] <= 1 and 0 <= result["ceiled"] <= 1
    assert set(result["per_subject"]) == {"1", "2", "3", "4", "5"}


def test_word_by_word_features_read_the_sentence_so_far(files, tiny_models):
    from omegaconf import OmegaConf as OC

    from brainalign.benchmarks import ModelProvider, RunContext
    from brainalign.benchmarks.brain import features_for
    from brainalign.models.load import load_model

    data = load_fedorenko(path=files["fedorenko2016"]["path"])
    cfg = OC.create({"name": "tiny-gpt2", "path": str(tiny_models["gpt2"]), "layers": ["blocks"]})
    lm = load_model(cfg)
    X, layers, _ = features_for(data, ModelProvider(cfg, loaded=lm), RunContext(cache_dir=tiny_models["gpt2"].parent / "c",
                                                                                progress=False))
    from brainalign.activations.extract import extract

    row = 8 + 3  # the 4th word of the 2nd sentence
    alone = extract(lm, [["MARY WAS TIRED SO"]], layers=["blocks"], progress=False).values[:, 0]
    np.testing.assert_allclose(X[:, row], alone, rtol=1e-4, atol=1e-5)


def test_missing_file_and_offline_say_how_to_get_it(tmp_path, monkeypatch):
    with pytest.raises(DataUnavailable, match="dataset.path"):
        load_fedorenko(path=tmp_path / "missing.nc")
    monkeypatch.setenv("BRAINALIGN_OFFLINE", "1")
    with pytest.raises(DataUnavailable) as error:
        load_tuckute(cache_dir=tmp_path)
    assert "brainscore-language/assy_Tuckute2024_language.nc" in str(error.value)
    assert "dataset.path=/path/to/assy_Tuckute2024_language.nc" in str(error.value)
    with pytest.raises(DataUnavailable, match="assy_Fedorenko2016_language.nc"):
        load_fedorenko(cache_dir=tmp_path)


def test_format_mismatches_name_what_is_wrong(files, tmp_path):
    stored = xr.open_dataarray(files["fedorenko2016"]["path"]).load()
    stored.drop_vars("sentence_id").to_netcdf(tmp_path / "a.nc")
    with pytest.raises(DataMismatch, match="sentence_id"):
        load_fedorenko(path=tmp_path / "a.nc")
    stored[0, 0] = np.nan
    stored.to_netcdf(tmp_path / "b.nc")
    with pytest.raises(DataMismatch, match="NaN"):
        load_fedorenko(path=tmp_path / "b.nc")
    (tmp_path / "c.nc").write_text("not netCDF")
    with pytest.raises(DataMismatch, match="not a readable netCDF"):
        load_tuckute(path=tmp_path / "c.nc")


def test_a_corrupt_download_is_refused(files, tmp_path, monkeypatch):
    """The store's checksum guards the download: a file with another SHA-1 is not cached."""
    import http.server
    import threading

    folder = str(files["tuckute2024"]["path"]).rsplit("/", 1)[0]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a, **k: http.server.SimpleHTTPRequestHandler(
        *a, directory=folder, **k))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.delenv("BRAINALIGN_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    url = f"http://127.0.0.1:{server.server_address[1]}/tuckute2024.nc"
    try:
        with pytest.raises(DataMismatch, match="SHA-1"):
            load_tuckute(url=url, cache_dir=tmp_path, progress=False)  # the real file's SHA-1 is expected
        assert not list(tmp_path.glob("*.nc"))
        data = load_tuckute(url=url, sha1=sha1_of(files["tuckute2024"]["path"]), cache_dir=tmp_path, progress=False)
        assert data.responses.shape == (1000, 1)
    finally:
        server.shutdown()
