"""The study's cost before it runs: `python main.py [experiment=paper | model=.. dataset=..] task=plan`.

For every model x dataset of a run or a sweep: forward tokens, estimated FLOPs (2 x params x
tokens, the usual dense-transformer forward count), weight memory (params x dtype bytes),
activation memory of the cached features (layers x stimuli x hidden x 4 bytes), and the wall time
on the chosen device (FLOPs / (peak x efficiency), from the `plan:` config block); summed over the
sweep, and every run whose weights do not fit the device is flagged. Nothing is loaded or run.

Token counts are each benchmark's declared cost (BenchmarkSpec.cost): from the real stimuli where
they are on disk (Pereira2018's stimulus set, the Wehbe2014 words), else from the datasets'
documented sizes (Brain-Score: Pereira 627 sentences in two experiments, Blank2014 1,317 fragments
of 8 stories, Futrell2018 10,256 words); words become tokens at `plan.tokens_per_word` (1.3, typical
of GPT-2/LLaMA/T5 tokenizers on English prose).
The presentation decides how many tokens go through the model: a causal model reads each passage
once (brainalign.activations.extract), an encoder-decoder re-reads every context; `exact`
surprisal re-reads the left-truncated context of every word, `fast` reads strided windows.

A sweep (hydra.mode=MULTIRUN, e.g. experiment=paper) is expanded here with Hydra's compose API,
as Hydra's basic sweeper would expand it (command-line values win over hydra.sweeper.params), so
planning 132 jobs launches none.
"""

import itertools
import math
import os
import re
import sys
from dataclasses import dataclass

from brainalign import registry
from brainalign.config.subset import perturb_tag
from brainalign.config import CONF_DIR
from brainalign.config.weights import weights_of
from brainalign.errors import BrainalignError, ConfigError

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
DEFAULTS = {"gpu_tflops": 989.0, "gpu_mem_gb": 80.0, "cpu_gflops": 100.0, "cpu_mem_gb": None,
            "efficiency": 0.4, "tokens_per_word": 1.3}
# hidden sizes of the zoo's architectures (the model configs give params and blocks, not widths)
HIDDEN = [(r"smollm2-135m", 576), (r"7b", 4096), (r"13b", 5120), (r"33b", 6656),
          (r"gpt2-xl", 1600), (r"gpt2-large", 1280), (r"gpt2-medium", 1024), (r"gpt2", 768),
          (r"xxl", 4096), (r"xl", 2048), (r"large", 1024), (r"base", 768), (r"small", 512), (r"tiny", 64)]


@dataclass
class Row:
    model: str
    dataset: str
    device: str
    params: float
    layers: int
    hidden: int
    stimuli: int
    forward_tokens: int
    flops: float
    weight_gb: float
    activation_gb: float
    seconds: float
    fits: bool
    note: str = ""


def settings(cfg) -> dict:
    """The `plan:` block over the defaults; a bad value is a ConfigError."""
    block = dict(cfg.plan) if cfg.get("plan") is not None else {}
    unknown = set(block) - set(DEFAULTS)
    if unknown:
        raise ConfigError(f"unknown plan options {sorted(unknown)}; known: {', '.join(DEFAULTS)}")
    out = {**DEFAULTS, **{k: v for k, v in block.items() if v is not None}}
    for key, value in out.items():
        if value is not None and (not isinstance(value, (int, float)) or value <= 0):
            raise ConfigError(f"plan.{key}={value!r} must be a positive number")
    if out["cpu_mem_gb"] is None:
        out["cpu_mem_gb"] = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return out


def hidden_size(m) -> int:
    if getattr(m, "hidden_size", None):
        return int(m.hidden_size)
    name = str(m.name).lower()
    for pattern, d in HIDDEN:
        if re.search(pattern, name):
            return d
    blocks = max(1, int(getattr(m, "n_layers", 12) or 12))  # ~12 d^2 parameters per block
    return int(round(math.sqrt(float(m.params) / (12 * blocks)) / 64) * 64) or 64


def untrained_width(m, guess: int) -> int:
    """An untrained model's hidden size from its `architecture:` block (built offline), else the guess."""
    from brainalign.models.untrained import architecture_config

    if not getattr(m, "architecture", None):
        return guess
    config = architecture_config(m, {})
    return int(getattr(config, "hidden_size", None) or getattr(config, "d_model", None) or guess)


def recorded_layers(m) -> int:
    """How many layers the features hold: `layers` selectors counted on the config's block count."""
    blocks = int(getattr(m, "n_layers", 0) or 0)
    stacks = 2 if str(getattr(m, "arch", "causal")) == "seq2seq" else 1
    n = 0
    for sel in list(getattr(m, "layers", None) or ["embedding", "blocks"]):
        n += stacks if sel == "embedding" else blocks if "." not in str(sel) else 1
    return n


def _max_length(m) -> int:
    if getattr(m, "max_length", None):
        return int(m.max_length)
    name = str(m.name).lower()
    if "t5" in name or "flan" in name:
        return 512
    if "gpt2" in name:
        return 1024
    return 2048 if re.search(r"\d+b", name) else 8192


def dataset_tokens(d, m, tokens_per_word: float) -> tuple[int, int, str]:
    """(forward tokens, stimuli with features, note) for dataset config `d` and model config `m`: the
    benchmark's declared cost (BenchmarkSpec.cost)."""
    spec = registry.benchmark(str(d.get("benchmark")))
    if spec.cost is None:
        raise ConfigError(f"task=plan: benchmark {spec.name!r} declares no cost")
    causal = str(getattr(m, "arch", "causal")) != "seq2seq"
    from brainalign.datasets.perturb import perturbation_of

    perturbation = perturbation_of(d, spec)   # a perturbation it does not take is refused here too
    tokens, stimuli, note = spec.cost(d, m, tokens_per_word, _max_length(m), causal)
    if perturbation is not None:
        note += f"; perturb={perturbation.name}: counted as the intact text"
    return tokens, stimuli, note


def plan_one(cfg, opts: dict | None = None) -> Row:
    """The cost of one composed config (model x dataset)."""
    opts = opts or settings(cfg)
    m, d = cfg.model, cfg.dataset
    device = str(cfg.get("device") or "auto")
    if device == "auto":   # as the job would run: CUDA when this machine has it
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ConfigError(f"device={device!r}; choose auto, cpu or cuda")
    if getattr(m, "params", None) is None:
        raise ConfigError(f"model {m.name!r} has no `params` in its config; task=plan needs it")
    params = float(m.params)
    dtype = str(getattr(m, "dtype", "float32") or "float32")
    if dtype not in DTYPE_BYTES:
        raise ConfigError(f"model.dtype={dtype!r}; choose one of {', '.join(DTYPE_BYTES)}")
    bytes_per = 1 if getattr(m, "load_in_8bit", False) else DTYPE_BYTES[dtype]
    tokens, stimuli, note = dataset_tokens(d, m, float(opts["tokens_per_word"]))
    layers, hidden = recorded_layers(m), hidden_size(m)
    if str(getattr(m, "init", "pretrained")) == "random":   # the same forward cost; its config built offline
        hidden, note = untrained_width(m, hidden), "; ".join(filter(None, [note, "untrained: no weights downloaded"]))
    flops = 2.0 * params * tokens
    peak = opts["gpu_tflops"] * 1e12 if device.startswith("cuda") else opts["cpu_gflops"] * 1e9
    weight_gb = params * bytes_per / 2**30
    activation_gb = layers * stimuli * hidden * 4 / 2**30
    mem = opts["gpu_mem_gb"] if device.startswith("cuda") else opts["cpu_mem_gb"]
    fits = weight_gb * 1.2 <= mem and activation_gb <= opts["cpu_mem_gb"]  # 20% for activations in flight
    return Row(weights_of(m)["name"], str(d.name) + perturb_tag(d), device, params, layers, hidden, stimuli, tokens, flops,
               weight_gb, activation_gb, flops / (peak * opts["efficiency"]), fits, note)


def report(rows: list[Row], opts: dict) -> str:
    lines = [f"{'model':<22} {'dataset':<10} {'tokens':>10} {'TFLOP':>9} {'weights':>9} {'features':>9} "
             f"{'time':>9}  fits"]
    for r in rows:
        lines.append(f"{r.model:<22} {r.dataset:<10} {r.forward_tokens:>10,} {r.flops / 1e12:>9.1f} "
                     f"{r.weight_gb:>7.2f}GB {r.activation_gb:>7.2f}GB {_duration(r.seconds):>9}  "
                     + ("yes" if r.fits else "NO: does not fit the device"))
    total = sum(r.seconds for r in rows)
    bad = [f"{r.model}/{r.dataset}" for r in rows if not r.fits]
    device = rows[0].device if rows else "cpu"
    peak = (f"{opts['gpu_tflops']:g} TFLOP/s, {opts['gpu_mem_gb']:g} GB" if device.startswith("cuda")
            else f"{opts['cpu_gflops']:g} GFLOP/s, {opts['cpu_mem_gb']:.0f} GB")
    lines.append(f"total: {len(rows)} runs, {sum(r.forward_tokens for r in rows):,} forward tokens, "
                 f"{sum(r.flops for r in rows) / 1e12:,.1f} TFLOP, about {_duration(total)} on {device} "
                 f"({peak} at {opts['efficiency']:g} efficiency); model forward passes only")
    if bad:
        lines.append(f"do not fit the device ({len(bad)}): {', '.join(bad)}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def run(cfg) -> list[Row]:
    """task=plan for one composed config (what run.py calls)."""
    opts = settings(cfg)
    rows = [plan_one(cfg, opts)]
    print(report(rows, opts))
    return rows


# --- a sweep, expanded with Hydra's compose API -------------------------------------------------

def requested(argv) -> bool:
    """Whether the command line asks for task=plan."""
    return any(re.fullmatch(r"\+{0,2}task=plan", a) for a in argv)


def expand(argv) -> list[list[str]]:
    """The override list of every job the command line (and the config's hydra.sweeper.params) asks for."""
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args = [a for a in argv if not a.startswith("-")]
    parser = OverridesParser.create()
    given = parser.parse_overrides(args)
    plain = [o.input_line for o in given if not o.is_sweep_override()]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        base = compose("config", overrides=plain, return_hydra_config=True)
    params = dict(base.hydra.sweeper.get("params") or {})
    keys_given = {o.get_key_element() for o in given}
    sweep = [f"{k}={v}" for k, v in params.items() if k not in keys_given]
    sweep += [o.input_line for o in given if o.is_sweep_override()]
    axes = [[f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()] if o.is_sweep_override()
            else [o.input_line] for o in parser.parse_overrides(sweep)]   # a single value in sweeper.params: one
    return [plain + list(combo) for combo in itertools.product(*axes)] if axes else [plain]


def plan_sweep(argv) -> list[Row]:
    from hydra import compose, initialize_config_dir
    from tqdm.auto import tqdm

    jobs = expand(argv)
    rows, opts = [], None
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for overrides in tqdm(jobs, desc="planning", unit="run", disable=len(jobs) < 10, leave=False):
            cfg = compose("config", overrides=overrides)  # ~0.2 s each: Hydra composes every job in full
            opts = opts or settings(cfg)
            rows.append(plan_one(cfg, opts))
    print(report(rows, opts))
    return rows


def main(argv) -> int:
    """Entry from main.py: plan the run or sweep; a bad input is one line on stderr, exit status 2."""
    from brainalign.config import setup

    setup()  # resolvers and schemas, so that this entry stands on its own
    try:
        plan_sweep(argv)
        return 0
    except BrainalignError as e:
        print(f"[brainalign] error: {e}", file=sys.stderr)
    except Exception as e:  # Hydra's own errors: an unknown config group option, a bad override
        if type(e).__module__.split(".")[0] not in ("hydra", "omegaconf"):
            raise
        from brainalign.app.cli import one_line

        print(f"[brainalign] error: {one_line(e)}", file=sys.stderr)
    return 2

