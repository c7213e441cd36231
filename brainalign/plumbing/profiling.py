"""Wall time per stage and peak memory of one run, for result["timings"] and result["resources"].

    stages = Stages()
    with stages("load"):
        data = load()
    ...
    result.update(stages.report(device))   # {"timings": {"load_s": ...}, "resources": {...}}

Peak host memory is the process's peak resident set size (getrusage; it covers the whole process,
so it includes what came before this run in the same process). Peak device memory is
torch.cuda.max_memory_allocated, when CUDA has been used.
"""

import resource
import sys
import time
from contextlib import contextmanager

STAGES = ("load", "model_load", "extraction", "metric", "ceiling")  # the usual ones; any name works


def peak_host_mb() -> float:
    """Peak resident memory of this process so far, in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def peak_device_mb(device: str = "cpu") -> float | None:
    """torch.cuda.max_memory_allocated in MiB, or None off CUDA (or when CUDA was never initialised)."""
    if not str(device).startswith("cuda"):
        return None
    try:
        import torch

        if not torch.cuda.is_available() or not torch.cuda.is_initialized():
            return None
        return torch.cuda.max_memory_allocated() / 2**20
    except ImportError:
        return None


class Stages:
    """Accumulates wall time per named stage; a stage entered twice adds up."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter()

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + float(seconds)

    def move(self, seconds, source: str, target: str) -> None:
        """Count `seconds` of stage `source` under `target` instead (a model loaded inside extraction)."""
        if seconds:
            self.add(source, -float(seconds))
            self.add(target, float(seconds))

    def timings(self) -> dict:
        out = {f"{k}_s": round(v, 3) for k, v in self.seconds.items()}
        out["stages_total_s"] = round(time.perf_counter() - self.started, 3)
        return out

    def report(self, device: str = "cpu", model=None, inside: str = "extraction", **extra_timings) -> dict:
        """{"timings": per-stage seconds (+ extra), "resources": peak memory and device}.

        model: the run's ModelProvider; the time it spent loading weights, which happens lazily inside
        stage `inside`, is reported as stage "model_load"."""
        self.move(getattr(model, "load_seconds", None), inside, "model_load")
        return {"timings": {**self.timings(), **extra_timings}, "resources": resources(device)}


def resources(device: str = "cpu") -> dict:
    out = {"device": device_name(device), "peak_host_mb": round(peak_host_mb(), 1)}
    dev = peak_device_mb(device)
    if dev is not None:
        out["peak_device_mb"] = round(dev, 1)
    return out


def device_name(device: str = "cpu") -> str:
    """e.g. 'cpu (2 threads)' or 'cuda:0 (NVIDIA H200)'."""
    try:
        import torch

        if str(device).startswith("cuda") and torch.cuda.is_available():
            return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
        return f"{device} ({torch.get_num_threads()} threads)"
    except ImportError:
        return str(device)
