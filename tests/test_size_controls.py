"""brainalign/analysis/size_controls.py: the partial correlation's calibration, and the three-way table."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from brainalign.analysis.properties import load_model_configs
from brainalign.analysis.size_controls import hidden_widths, partial_r, significance, size_controls


def null_with_width_confound(rng, n=20):
    """Width drives both size and score; given width, they are independent."""
    width = rng.uniform(2.5, 3.8, n)   # log10 width
    size = 2.0 * width + 0.3 * rng.standard_normal(n)
    score = 0.5 * width + 0.3 * rng.standard_normal(n)
    return size, score, width


def test_partial_correlation_p_and_interval_are_calibrated():
    rng = np.random.default_rng(0)
    sims, n = 2000, 20
    rejected = covered = plain_rejected = 0
    for _ in range(sims):
        x, y, z = null_with_width_confound(rng, n)
        p, low, high = significance(partial_r(x, y, z), n, controls=1)
        rejected += p < 0.05
        covered += low <= 0 <= high            # the true partial correlation is 0
        plain_rejected += stats.pearsonr(x, y).pvalue < 0.05
    # 2000 draws: the standard error of a 5 % rate is 0.5 %
    assert 0.035 < rejected / sims < 0.065
    assert 0.935 < covered / sims < 0.965
    assert plain_rejected / sims > 0.5        # without the control the confound is "significant"


def test_partial_r_matches_the_correlation_formula():
    rng = np.random.default_rng(1)
    x, y, z = rng.standard_normal((3, 30))
    rxy, rxz, ryz = (np.corrcoef(a, b)[0, 1] for a, b in ((x, y), (x, z), (y, z)))
    assert partial_r(x, y, z) == pytest.approx((rxy - rxz * ryz) / math.sqrt((1 - rxz**2) * (1 - ryz**2)), abs=1e-12)
    p, low, high = significance(0.5, 30)
    assert p == pytest.approx(stats.pearsonr(*_with_r(0.5, 30)).pvalue, abs=1e-9)
    assert low < 0.5 < high


def _with_r(r, n):
    """Two series of n values with sample correlation exactly r."""
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, n))
    a, b = a - a.mean(), b - b.mean()
    b = b - a * (a @ b) / (a @ a)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    return a, r * a + math.sqrt(1 - r * r) * b


def test_zoo_widths():
    widths = hidden_widths(load_model_configs())
    assert widths["gpt2-xl"] == 1600 and widths["flan-t5-xl"] == 2048 and widths["llama-7b"] == 4096
    assert math.isnan(widths["position"])
    assert hidden_widths({"m": {"architecture": {"d_model": 512}}})["m"] == 512


def test_the_table_has_the_three_ways():
    rng = np.random.default_rng(3)
    names = [f"m{i}" for i in range(8)]
    width = pd.Series(2.0 ** rng.integers(9, 13, 8), index=names)
    models = pd.DataFrame({"family": ["f"] * 7 + ["baseline"], "instruction_tuned": [True, False] * 4}, index=names)
    props = pd.DataFrame({"log10_params": np.log10(width) * 2 + rng.normal(0, .1, 8), "mmlu": rng.uniform(.2, .5, 8)},
                         index=names)
    wide = pd.DataFrame({"pereira": rng.uniform(0, 1, 8), "pereira@linear-pca64#ab": rng.uniform(0, 1, 8)}, index=names)
    datasets = pd.DataFrame({"settings": [json.dumps({"metric": {}}), json.dumps({"metric": {"n_components": 64}})]},
                            index=list(wide))
    table = size_controls(wide, props, models, width, datasets, list(wide))
    ways = set(table["way"])
    assert ways == {"study", "partial: log10 width", "fixed k=64"}
    assert not table["models"].str.contains("m7").any()     # the baseline never enters
    study = table[(table.way == "study") & (table.model_set == "all") & (table.property == "mmlu")
                  & (table.measure == "pereira")].iloc[0]
    assert study["n"] == 7 and study["r"] == pytest.approx(stats.pearsonr(props.mmlu[:7], wide.pereira[:7]).statistic)
    finite = table.dropna(subset=["ci_low"])   # no interval below 4 models (5 for the partial r)
    assert len(finite) and (finite["ci_low"] <= finite["r"]).all() and (finite["r"] <= finite["ci_high"]).all()
