"""task=plan: forward tokens, FLOPs, memory and time of a run or a whole sweep, before anything runs."""

import pytest

from brainalign.app import plan
from brainalign.benchmarks.cost import presentation_tokens
from brainalign.errors import ConfigError
from conftest import compose_config


def config(*overrides):
    return compose_config("tracking=disabled", *overrides)


def test_presentation_tokens_causal_once_per_group_seq2seq_per_context():
    groups = [[10, 10, 10], [5]]
    assert presentation_tokens(groups, causal=True, window=100) == 30 + 5
    assert presentation_tokens(groups, causal=False, window=100) == 10 + 20 + 30 + 5
    # contexts past the window: each part beyond it gets a window-long pass of its own
    assert presentation_tokens(groups, causal=True, window=15) == 10 + 15 + 15 + 5
    assert presentation_tokens(groups, causal=False, window=15) == 10 + 15 + 15 + 5


def test_one_run_flops_and_memory_follow_the_model_config():
    cfg = config("model=gpt2", "dataset=pereira", "task=plan")
    row = plan.plan_one(cfg)
    assert row.stimuli == 627 and row.layers == 13 and row.hidden == 768
    assert row.flops == pytest.approx(2 * 1.24e8 * row.forward_tokens)
    assert row.weight_gb == pytest.approx(1.24e8 * 4 / 2**30)
    assert row.activation_gb == pytest.approx(13 * 627 * 768 * 4 / 2**30)
    assert row.seconds == pytest.approx(row.flops / (100e9 * 0.4))  # conf: cpu_gflops 100, efficiency 0.4
    t5 = plan.plan_one(config("model=t5-small", "dataset=pereira", "task=plan"))
    assert t5.forward_tokens > row.forward_tokens  # an encoder-decoder re-reads every context


def test_gpu_memory_flags_runs_that_do_not_fit():
    big = plan.plan_one(config("model=llama-33b", "dataset=pereira", "device=cuda", "plan.gpu_mem_gb=40"))
    small = plan.plan_one(config("model=llama-7b", "dataset=pereira", "device=cuda", "plan.gpu_mem_gb=40"))
    assert not big.fits and small.fits
    assert small.seconds == pytest.approx(small.flops / (989e12 * 0.4))


def test_the_paper_sweep_expands_without_launching():
    jobs = plan.expand(["experiment=paper", "task=plan"])
    assert len(jobs) == 33 * 4 and len({tuple(j) for j in jobs}) == 132
    assert all("task=plan" in j and "experiment=paper" in j for j in jobs)
    narrowed = plan.expand(["experiment=paper", "task=plan", "model=gpt2,t5-small"])  # command line wins
    assert sorted(j[-1] for j in narrowed if j[-1].startswith("model=")) == ["model=gpt2"] * 4 + ["model=t5-small"] * 4
    assert plan.expand(["model=gpt2", "dataset=pereira", "task=plan"]) == [["model=gpt2", "dataset=pereira", "task=plan"]]


def test_sweep_report_sums_the_runs(capsys):
    rows = plan.plan_sweep(["model=gpt2,gpt2-medium", "dataset=pereira,wehbe", "task=plan"])
    assert [(r.model, r.dataset) for r in rows] == [("gpt2", "pereira"), ("gpt2", "wehbe"),
                                                   ("gpt2-medium", "pereira"), ("gpt2-medium", "wehbe")]
    out = capsys.readouterr().out
    assert "total: 4 runs" in out and f"{sum(r.forward_tokens for r in rows):,} forward tokens" in out


def test_bad_input_is_one_line(capsys):
    assert plan.main(["model=nosuch", "task=plan"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("[brainalign] error:") and "nosuch" in err and len(err.splitlines()) == 1
    assert plan.main(["task=plan", "plan.efficiency=-1"]) == 2
    assert "plan.efficiency" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="unknown plan options"):
        plan.settings(config("+plan.gpu_flops=3"))
    assert plan.requested(["experiment=paper", "task=plan"]) and not plan.requested(["task=score"])
