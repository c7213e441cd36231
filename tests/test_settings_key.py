"""A result belongs to its data and settings, not to where the data lie: locations are never settings,
the contents of each data file are (BenchmarkSpec.locations / data_files, brainalign/plumbing/datahash.py)."""

import dataclasses
import shutil
from pathlib import Path

import pytest

from brainalign import registry
from brainalign.plumbing.datahash import Hasher, data_hashes
from brainalign.errors import ConfigError
from brainalign.app.run import run
from fixtures_data import write_fake_pereira


def test_every_declaration_names_keys_of_its_own_schema():
    """What a benchmark declares as locations and subset keys exist in its dataset schema."""
    for name, spec in registry.benchmarks().items():
        fields = {f.name for f in dataclasses.fields(spec.schema)}
        assert set(spec.locations) <= fields, name
        assert set(spec.subset_keys) <= fields, name
        assert {key.split(".")[0] for key in spec.folder_keys} <= fields, name
        assert spec.default_metric and spec.accepted(), name


def test_hashes_follow_contents_not_places(tmp_path, monkeypatch):
    a = tmp_path / "a" / "data.txt"
    a.parent.mkdir()
    a.write_text("one")
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "x.txt").write_text("x")
    first = data_hashes({"path": str(a), "dir": str(folder), "unset": None}, ("path", "dir", "unset"), tmp_path / "c")
    assert set(first) == {"path", "dir"}
    moved = tmp_path / "b.txt"
    shutil.copy(a, moved)
    assert data_hashes({"path": str(moved)}, ("path",), tmp_path / "c")["path"] == first["path"]
    (folder / "sub" / "x.txt").write_text("y")
    assert data_hashes({"dir": str(folder)}, ("dir",), tmp_path / "c")["dir"] != first["dir"]
    # a file whose size and mtime did not change is not read again
    calls = []
    monkeypatch.setattr("brainalign.plumbing.datahash._sha256", lambda p: calls.append(p) or "0" * 64)
    Hasher(tmp_path / "c" / "datahash" / "index.json").path(a)
    assert calls == []
    with pytest.raises(Exception, match=r"dataset.path=.*does not exist"):
        data_hashes({"path": str(tmp_path / "gone.nc")}, ("path",))


@pytest.fixture
def pereira_run(make_config, tiny_gpt2, tmp_path, shared_data):
    def go(path, *extra):
        return run(make_config(*tiny_gpt2, "dataset=pereira_243", f"dataset.path={path}", *extra))
    return go


def test_moved_data_keep_their_result_changed_data_never_return_it(pereira_run, tmp_path, capsys):
    for sub in ("a", "b", "elsewhere"):
        (tmp_path / sub).mkdir()
    first = write_fake_pereira(tmp_path / "a" / "assy.nc", voxels_per_subject=4).path
    result = pereira_run(first)
    assert "path" not in result["settings"]["dataset"] and "cache_dir" not in result["settings"]["dataset"]
    assert set(result["settings"]["dataset"]["data_sha256"]) == {"path"}
    moved = tmp_path / "elsewhere" / "renamed.nc"
    shutil.move(first, moved)
    capsys.readouterr()
    assert pereira_run(moved) == result                                # the stored line, not a refusal
    assert "already done" in capsys.readouterr().out
    other = write_fake_pereira(tmp_path / "b" / "assy.nc", seed=1, voxels_per_subject=4).path
    with pytest.raises(ConfigError, match="other settings"):          # never the old score
        pereira_run(other)
    recomputed = pereira_run(other, "force=true")
    assert recomputed["raw"] != result["raw"]
    assert recomputed["settings"]["dataset"]["data_sha256"] != result["settings"]["dataset"]["data_sha256"]


# -- Futrell2018: the reading times are data, the surprisal mode names the folder -------------------------

def release_folder(shared_data, folder):
    """A Natural Stories release folder: the shared all_stories.tok and processed_wordinfo.tsv, copied."""
    folder.mkdir(parents=True)
    for name in ("all_stories.tok", "processed_wordinfo.tsv"):
        shutil.copy(shared_data / "futrell2018" / "naturalstories" / name, folder / name)
    return folder


def edit_reading_time(table, word_index=10):
    """Multiply one word's meanItemRT (story 1) by 3."""
    import pandas as pd

    df = pd.read_csv(table, sep="\t", quoting=3, keep_default_na=False)
    row = df.index[(df["item"] == 1) & (df["zone"] == word_index)][0]
    df.loc[row, "meanItemRT"] *= 3
    df.to_csv(table, sep="\t", index=False, quoting=3)


@pytest.fixture
def futrell_run(make_config, tiny_gpt2, shared_data):
    def go(*extra):
        return run(make_config(*tiny_gpt2, "dataset=futrell", "dataset.max_words=60", *extra))
    return go


def test_edited_reading_times_are_never_the_old_score(futrell_run, shared_data, tmp_path, capsys):
    folder = release_folder(shared_data, tmp_path / "ns")
    result = futrell_run(f"dataset.path={folder}")
    assert set(result["settings"]["dataset"]["data_sha256"]) == {"path"}
    moved = tmp_path / "elsewhere" / "release"
    shutil.copytree(folder, moved)
    capsys.readouterr()
    assert futrell_run(f"dataset.path={moved}") == result                  # a moved copy: the stored line
    assert "already done" in capsys.readouterr().out
    edit_reading_time(moved / "processed_wordinfo.tsv")
    with pytest.raises(ConfigError, match="other settings"):
        futrell_run(f"dataset.path={moved}")
    assert futrell_run(f"dataset.path={moved}", "force=true")["raw"] != result["raw"]
    # all_stories.tok with its reading times named apart: those files are hashed too
    tok, means = folder / "all_stories.tok", folder / "processed_wordinfo.tsv"
    apart = futrell_run(f"dataset.path={tok}", f"dataset.word_means={means}", "force=true")
    assert set(apart["settings"]["dataset"]["data_sha256"]) == {"path", "word_means"}
    edit_reading_time(means)
    with pytest.raises(ConfigError, match="other settings"):
        futrell_run(f"dataset.path={tok}", f"dataset.word_means={means}")


def test_surprisal_modes_have_their_own_folders(futrell_run, shared_data, tmp_path, capsys):
    """Interrupt exact, run fast, resume exact: both results stay, force=true on one leaves the other."""
    folder = release_folder(shared_data, tmp_path / "ns")
    exact = futrell_run(f"dataset.path={folder}")
    fast = futrell_run(f"dataset.path={folder}", "dataset.surprisal.mode=fast")
    out = tmp_path / "out" / "tiny-gpt2"
    exact_file, fast_file = (next(out.glob(f"futrell-subset-*{tag}/pearsonr/result.json")) for tag in ("", "-mode-fast"))
    assert exact_file.parent.parent.name + "-mode-fast" == fast_file.parent.parent.name
    assert exact["surprisal_mode"] == "exact" and fast["surprisal_mode"] == "fast"
    before = exact_file.read_text()
    futrell_run(f"dataset.path={folder}", "dataset.surprisal.mode=fast", "force=true")
    assert exact_file.read_text() == before
    capsys.readouterr()
    assert futrell_run(f"dataset.path={folder}") == exact
    assert "already done" in capsys.readouterr().out


def test_localize_and_suites_name_their_folders(make_config):
    from brainalign.scoring import output_dir

    plain, localized = output_dir(make_config()), output_dir(make_config("model.localize=0.01"))
    assert plain.parts[-3] == "smollm2-135m" and localized.parts[-3] == "smollm2-135m-localize-0.01"
    hydra = make_config("model.localize=0.01", "dataset=futrell", "dataset.surprisal.mode=fast", hydra=True)
    assert Path(hydra.hydra.run.dir).parts[-3:-1] == ("smollm2-135m-localize-0.01", "futrell-mode-fast")
    assert Path(hydra.hydra.sweep.subdir).parts[:2] == ("smollm2-135m-localize-0.01", "futrell-mode-fast")
    suites = output_dir(make_config("dataset=syntaxgym", "dataset.suites=[number_prep]"))
    assert suites.parts[-2].startswith("syntaxgym-subset-")
    assert output_dir(make_config("dataset=syntaxgym")).parts[-2] == "syntaxgym"
