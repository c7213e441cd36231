"""A result belongs to its data and settings, not to where the data lie: locations are never settings,
the contents of each data file are (BenchmarkSpec.locations / data_files, brainalign/plumbing/datahash.py)."""

import dataclasses
import shutil

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
