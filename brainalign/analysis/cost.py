"""What a sweep cost: wall time per stage summed over its results, and the largest peak memory.

Reads the `timings` / `resources` every result records (brainalign.plumbing.profiling); results written
before those existed count as unknown.
"""

import math


def sweep_cost(results: list[dict]) -> dict:
    """{"runs", "runs_timed", "stages_s": {stage: seconds}, "total_s", "peak_host_mb", "peak_device_mb"}."""
    stages, total, timed, host, device = {}, 0.0, 0, math.nan, math.nan
    for r in results:
        t = r.get("timings") or {}
        run_total = t.get("total_s", t.get("stages_total_s"))
        if isinstance(run_total, (int, float)):
            total += float(run_total)
            timed += 1
        for key, value in t.items():
            if key.endswith("_s") and key not in ("total_s", "stages_total_s") and isinstance(value, (int, float)):
                stages[key[:-2]] = stages.get(key[:-2], 0.0) + float(value)
        res = r.get("resources") or {}
        host = max(host, float(res.get("peak_host_mb", math.nan)), key=_known)
        device = max(device, float(res.get("peak_device_mb", math.nan)), key=_known)
    return {"runs": len(results), "runs_timed": timed, "stages_s": stages, "total_s": total,
            "peak_host_mb": host, "peak_device_mb": device}


def _known(x: float) -> float:
    return -math.inf if math.isnan(x) else x


def cost_line(cost: dict) -> str:
    """One line for the console, e.g. 'sweep cost: 12 runs, 3.2 h (extraction 2.9 h, metric 0.2 h, ...)'."""
    def hours(s):
        return f"{s / 3600:.2f} h" if s >= 360 else f"{s:.1f} s"

    parts = ", ".join(f"{k} {hours(v)}" for k, v in sorted(cost["stages_s"].items(), key=lambda kv: -kv[1]))
    mem = [f"peak host {cost['peak_host_mb'] / 1024:.1f} GiB" if not math.isnan(cost["peak_host_mb"]) else None,
           f"peak device {cost['peak_device_mb'] / 1024:.1f} GiB" if not math.isnan(cost["peak_device_mb"]) else None]
    mem = "; ".join(m for m in mem if m)
    return (f"sweep cost: {cost['runs']} runs ({cost['runs_timed']} timed), {hours(cost['total_s'])} in all"
            + (f" ({parts})" if parts else "") + (f"; {mem}" if mem else ""))
