"""A simulated zoo for the claims under controls: 8 vanilla models and their 8 instruction-tuned pairs,
with the results the study's protocol and each control would store, written by the app's own writer
(brainalign.app.results.write) in the app's folder layout, and model configs (params, hidden width, MMLU).

Scenarios (what is planted in the scores; every score also gets a model's own noise):
  width-only  the score grows with hidden width in every unreduced column and in the untrained
              architectures too; at fixed k it does not. No IT effect.
  order-only  IT models gain 0.03 under shuffled CV only: not under group CV, not in unique variance.
  genuine     IT models gain 0.03 under every control, and the score grows with log10 parameters
              (width x depth) at fixed k too, while the untrained architectures stay flat.

    python tests/fixtures_claims.py <out> [scenario]    # the zoo, then: python -m brainalign.analysis ...
"""

import math
import sys
from pathlib import Path

import numpy as np

SCENARIOS = ("width-only", "order-only", "genuine")
WIDTHS = (64, 96, 128, 192, 256, 384, 512, 768)
DEPTHS = (2, 8, 3, 12, 4, 10, 6, 5)
GAIN = 0.03
K = 8
PERTURB = "scramble-words"


def _metric(name: str, kind: str, cv, **extra) -> dict:
    return {"name": name, "kind": kind, "n_splits": 10, "train_size": 0.9, "random_state": 1, "cv": cv, **extra}


# column -> (folder name, metric settings)
COLUMNS = {"study": ("linear-shuffle+group", _metric("linear-shuffle+group", "linear", ["shuffle", "group"])),
           "banded": ("banded", _metric("banded", "banded", ["shuffle"], confounds=["oasm", "position", "length"])),
           "fixed_k": (f"linear-pca{K}", _metric(f"linear-pca{K}", "linear", ["shuffle"], n_components=K,
                                                  reduce="pca"))}


def models() -> list[dict]:
    out = []
    for i, (w, d) in enumerate(zip(WIDTHS, DEPTHS)):
        params = 12.0 * d * w * w
        base = {"family": "sim", "params": params, "hidden_size": w}
        out.append({"name": f"sim-v{i}", "instruction_tuned": False, "pair": None, **base})
        out.append({"name": f"sim-it{i}", "instruction_tuned": True, "pair": f"sim-v{i}", **base})
    return out


def scores(scenario: str, seed: int = 0) -> dict:
    """{(model, what): score}; what: shuffle, group, banded, fixed_k, perturbed, untrained-s0/-s1 (vanilla only)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario {scenario!r}; choose one of {SCENARIOS}")
    rng = np.random.default_rng(seed)
    out = {}
    for i, m in enumerate(models()):
        width = math.log2(m["hidden_size"] / WIDTHS[0])
        size = 0.05 * math.log10(m["params"])
        pair_base = 0.3 + 0.005 * np.random.default_rng([seed, i // 2]).standard_normal()   # shared by the pair
        noise = lambda: 0.003 * rng.standard_normal()   # noqa: E731
        it = m["instruction_tuned"]
        trained = {"width-only": 0.03 * width, "order-only": size, "genuine": size}[scenario]
        at_k = {"width-only": 0.0, "order-only": size, "genuine": size}[scenario]
        gain = GAIN if it and scenario != "width-only" else 0.0
        kept = gain if scenario == "genuine" else 0.0   # the gain under group CV and in unique variance
        out[m["name"], "shuffle"] = pair_base + trained + gain + noise()
        out[m["name"], "group"] = pair_base - 0.1 + trained + kept + noise()
        out[m["name"], "banded"] = pair_base - 0.25 + 0.3 * trained + kept + noise()
        out[m["name"], "fixed_k"] = pair_base - 0.05 + at_k + gain + noise()
        out[m["name"], "perturbed"] = pair_base - 0.05 + trained + gain + noise()
        if not it:
            untrained = 0.1 + (0.03 * width if scenario == "width-only" else 0.0)
            for s in (0, 1):
                out[m["name"], f"untrained-s{s}"] = untrained + noise()
    return out


def _result(model: dict, metric: dict, value: float, *, protocols=None, name=None, init=None, perturb=None) -> dict:
    meta = {k: model[k] for k in ("family", "instruction_tuned", "pair", "params")}
    meta.update(name=name or model["name"], chat_template="none")
    if init is not None:
        meta.update(config_name=model["name"], init="random", init_seed=init)
    dataset = {"name": "synthetic", "noise": 1.0, **({"perturb": perturb, "perturb_seed": 0} if perturb else {})}
    layer = {"layer": "transformer.h.0", "raw": value, "ceiled": value}
    result = {"model": meta, "dataset": "synthetic", "benchmark": "synthetic", "kind": "brain",
              "metric": metric["name"], "subset": None, "settings": {"metric": metric, "dataset": dataset},
              "raw": value, "ceiled": value, "ceiling": 1.0, "best_layer": "transformer.h.0", "best_layer_index": 0,
              "raw_cv": value, "n_layers": 1, "per_layer": [layer], "synthetic": True,
              "protocol": metric["cv"][0]}
    if protocols:
        result["protocols"] = {p: {"raw": v, "ceiled": v, "ceiling": 1.0, "best_layer": "transformer.h.0",
                                   "per_layer": [{**layer, "raw": v, "ceiled": v}]} for p, v in protocols.items()}
    if perturb:
        result["perturb"] = {"name": perturb, "seed": 0}
    return result


def write_zoo(root: Path, scenario: str, seed: int = 0) -> tuple[Path, Path]:
    """(results folder, model config folder) of the scenario's zoo."""
    from brainalign.app.results import write

    results, conf = Path(root) / "results", Path(root) / "conf_model"
    conf.mkdir(parents=True, exist_ok=True)
    values = scores(scenario, seed)
    for i, m in enumerate(models()):
        name = m["name"]
        mmlu = 0.25 + 0.04 * math.log10(m["params"]) + 0.003 * np.random.default_rng([seed, 99, i]).standard_normal()
        lines = [f"name: {name}", "family: sim", f"instruction_tuned: {str(m['instruction_tuned']).lower()}",
                 f"params: {m['params']:.6g}", f"hidden_size: {m['hidden_size']}"]
        lines += [f"pair: {m['pair']}", f"properties: {{mmlu: {mmlu:.4f}}}"] if m["instruction_tuned"] else []
        (conf / f"{name}.yaml").write_text("\n".join(lines) + "\n")
        study_folder, study = COLUMNS["study"]
        write(results / name / "synthetic" / study_folder, _result(
            m, study, values[name, "shuffle"], protocols={"shuffle": values[name, "shuffle"], "group": values[name, "group"]}))
        for column in ("banded", "fixed_k"):
            folder, metric = COLUMNS[column]
            write(results / name / "synthetic" / folder, _result(m, metric, values[name, column]))
        write(results / name / f"synthetic-perturb-{PERTURB}-s0" / study_folder,
              _result(m, study, values[name, "perturbed"], perturb=PERTURB))
        for s in (0, 1) if not m["instruction_tuned"] else ():
            untrained = f"{name}-untrained-s{s}"
            write(results / untrained / "synthetic" / study_folder,
                  _result(m, study, values[name, f"untrained-s{s}"], name=untrained, init=s))
    return results, conf


if __name__ == "__main__":
    out = write_zoo(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "genuine")
    print(f"results: {out[0]}\nmodel configs: {out[1]}")
