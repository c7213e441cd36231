"""Checkpoints (model.revision) and the analysis of controls: trained minus untrained, score along training."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from brainalign.app.run import run
from brainalign.errors import ConfigError, ModelUnavailable
from fixtures_checkpoints import STEPS, checkpoints  # noqa: F401 (a fixture)

REPO = Path(__file__).resolve().parents[1]


def tiny(checkpoints, *more):
    return ["model=gpt2", f"model.path={checkpoints}", "model.name=tiny-gpt2", "model.architecture=null",
            "dataset.n_passages=12", *more]


def test_revision_is_a_checkpoint_folder_with_its_own_identity(make_config, checkpoints, tmp_path):
    from brainalign.scoring import describe, settings_key

    results = {s: run(make_config(*tiny(checkpoints, f"model.revision=step{s}"))) for s in (0, 4)}
    assert results[0]["raw"] != results[4]["raw"]                       # other weights, other score
    assert results[4]["timings"]["features_cached"] is False
    folders = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert folders == ["tiny-gpt2-rev-step0", "tiny-gpt2-rev-step4"]
    stored = json.loads(next((tmp_path / "out" / "tiny-gpt2-rev-step4").rglob("result.json")).read_text())
    assert stored["model"]["revision"] == "step4" and stored["model"]["config_name"] == "tiny-gpt2"
    keys = {settings_key(describe(make_config(*tiny(checkpoints, f"model.revision=step{s}")))) for s in STEPS}
    assert len(keys) == len(STEPS)


def test_bad_revisions_are_one_line(make_config, checkpoints):
    from brainalign.models.load import model_source

    with pytest.raises(ModelUnavailable, match=r"model.revision=step9: no checkpoint folder .*\(there: step0, step2, step4\)"):
        model_source(make_config(*tiny(checkpoints, "model.revision=step9")).model)
    with pytest.raises(ConfigError, match="not loaded from the hub"):
        model_source(make_config("model=smollm2-135m", "model.revision=step9").model)


@pytest.mark.slow  # main.py in a subprocess (~15 s)
def test_hub_revision_offline_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "main.py", "model=pythia-160m", "model.revision=step1000", "tracking=disabled",
                           f"results_dir={tmp_path}", f"cache_dir={tmp_path / 'cache'}"], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    error, = [line for line in proc.stderr.splitlines() if line.startswith("[brainalign] error")]
    assert "revision step1000" in error and "pythia-160m" in error
    assert (tmp_path / "pythia-160m-rev-step1000").is_dir()


def test_t_interval_covers_at_its_level():
    """Calibration: the t interval over seeds covers the true trained-minus-untrained difference ~95 % of the time."""
    from brainalign.analysis.untrained import t_interval

    rng = np.random.default_rng(0)
    for n in (3, 5):
        hits = [low <= 0.3 <= high for low, high in
                (t_interval(0.5, rng.normal(0.2, 0.05, n))[1:] for _ in range(4000))]
        assert abs(np.mean(hits) - 0.95) < 0.015, (n, np.mean(hits))
    assert np.isnan(t_interval(0.5, [0.2])[1])


@pytest.mark.slow  # 8 tiny runs and the analysis (~15 s)
def test_analysis_of_untrained_and_checkpoints(make_config, checkpoints, tmp_path):
    from brainalign.analysis import run as analyze

    final = tiny(checkpoints / "step4")
    for overrides in ([*tiny(checkpoints, f"model.revision=step{s}", "model.tokens_per_step=1000")] for s in STEPS):
        run(make_config(*overrides))
    run(make_config(*final))
    for seed in (0, 1, 2):
        run(make_config(*final, "model.init=random", f"model.init_seed={seed}"))
    it = [*tiny(checkpoints / "step2"), "model.name=tiny-gpt2-it", "model.instruction_tuned=true", "model.pair=tiny-gpt2"]
    run(make_config(*it))
    out = analyze(str(tmp_path / "out"), str(tmp_path / "analysis"))
    report = (tmp_path / "analysis" / "report.md").read_text()
    assert "## Trained vs untrained" in report and "## Training trajectories" in report
    assert set(out["alignment"].index) == {"tiny-gpt2", "tiny-gpt2-it"}      # controls stay out of the tables
    import pandas as pd

    deltas = pd.read_csv(tmp_path / "analysis" / "untrained.csv")
    row = deltas.set_index("model").loc["tiny-gpt2"]
    untrained = [json.loads(next((tmp_path / "out" / f"tiny-gpt2-untrained-s{s}").rglob("result.json")).read_text())["raw"]
                 for s in range(3)]
    assert row["n_seeds"] == 3 and row["delta"] == pytest.approx(row["trained"] - np.mean(untrained))
    assert row["delta_low"] < row["delta"] < row["delta_high"]
    assert deltas.set_index("model").loc["tiny-gpt2-it", "untrained_of"] == "tiny-gpt2"
    traj = pd.read_csv(tmp_path / "analysis" / "trajectory.csv")
    assert list(traj["tokens"]) == [1000.0 * s for s in STEPS]
    assert (tmp_path / "analysis" / "trajectory.png").stat().st_size > 10_000
