"""Stage timings and peak memory: the timer, and what every result records."""

import time

from brainalign.analysis.cost import cost_line, sweep_cost
from brainalign.plumbing.profiling import Stages, peak_host_mb, resources


def test_stages_add_up_and_a_model_load_is_moved_out_of_extraction():
    stages = Stages()
    with stages("extraction"):
        time.sleep(0.02)
    with stages("extraction"):
        time.sleep(0.02)
    model = type("Provider", (), {"load_seconds": 0.01})()
    report = stages.report("cpu", model)
    t = report["timings"]
    assert 0.025 <= t["extraction_s"] <= 0.2 and t["model_load_s"] == 0.01
    assert t["stages_total_s"] >= t["extraction_s"] + t["model_load_s"] - 1e-3
    assert report["resources"]["device"].startswith("cpu") and report["resources"]["peak_host_mb"] > 10
    assert "peak_device_mb" not in resources("cpu")


def test_peak_host_memory_sees_an_allocation():
    import numpy as np

    before = peak_host_mb()
    block = np.ones(300 * 2**20 // 8)  # 300 MiB, touched
    assert peak_host_mb() >= before + 250 or before > 300 + 250
    del block


def test_sweep_cost_sums_stages_and_keeps_the_largest_peak():
    results = [{"timings": {"total_s": 10.0, "extraction_s": 6.0, "metric_s": 3.0, "features_cached": False},
                "resources": {"peak_host_mb": 900.0}},
               {"timings": {"total_s": 5.0, "extraction_s": 1.0, "ceiling_s": 2.0},
                "resources": {"peak_host_mb": 1500.0, "peak_device_mb": 4096.0}},
               {"raw": 0.1}]  # written before timings existed
    cost = sweep_cost(results)
    assert cost["runs"] == 3 and cost["runs_timed"] == 2 and cost["total_s"] == 15.0
    assert cost["stages_s"] == {"extraction": 7.0, "metric": 3.0, "ceiling": 2.0}
    assert cost["peak_host_mb"] == 1500.0 and cost["peak_device_mb"] == 4096.0
    assert "3 runs (2 timed), 15.0 s in all (extraction 7.0 s" in cost_line(cost)
