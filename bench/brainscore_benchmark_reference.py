"""Brain-Score 2.3's own benchmark code on an assembly file: the reference for baselines, ridge and ceilings.

Runs ONLY inside the Brain-Score venv (numpy<2; see docs/metrics.md):

    $BRAINSCORE_PYTHON bench/brainscore_benchmark_reference.py write IN.nc OUT.nc
        re-writes an assembly with Brain-Score's write_netcdf (a NeuroidAssembly built from IN.nc)
    $BRAINSCORE_PYTHON bench/brainscore_benchmark_reference.py write-ceiling 0.3 ceiling.nc
        a ceiling file as Brain-Score stores one (a scalar Score)
    $BRAINSCORE_PYTHON bench/brainscore_benchmark_reference.py score OUT.nc result.json \
        --benchmark pereira|blank [--experiment 243sentences] [--metric ridge|linear] \
        [--sigma 1.0] [--max-features 2000] [--ceiling 0.3] [--compute-ceiling]

`score` calls the benchmark classes' own __call__ (_Pereira2018Experiment / Blank2014) with the
data read from the file instead of Brain-Score's store, on OASMSubject(sigma) and on
randomembedding-100, and writes each model's raw score, ceiled score and its features; with
--compute-ceiling also the ceiling of Brain-Score's ExtrapolationCeiling with the benchmark's metric.
"""
import argparse
import json
import os
import warnings
from types import SimpleNamespace

os.environ.setdefault("BS_INSTALL_DEPENDENCIES", "no")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from brainscore_core.metrics import Score  # noqa: E402
from brainscore_core.supported_data_standards.brainio.assemblies import AssemblyLoader, NeuroidAssembly  # noqa: E402
from brainscore_core.supported_data_standards.brainio.packaging import write_netcdf  # noqa: E402
from brainscore_language import load_metric, load_model  # noqa: E402
from brainscore_language.artificial_subject import ArtificialSubject  # noqa: E402


def write(src, dst):
    with xr.open_dataarray(src) as stored:
        data = stored.load()
    pres = [c for c, v in data.coords.items() if v.dims == ("presentation",)]
    neur = [c for c, v in data.coords.items() if v.dims == ("neuroid",)]
    assembly = NeuroidAssembly(data.values, dims=["presentation", "neuroid"],
                               coords={**{c: ("presentation", data[c].values) for c in pres},
                                       **{c: ("neuroid", data[c].values) for c in neur}})
    print(write_netcdf(assembly, dst))


def write_ceiling(value, dst):
    """A stored ceiling as Brain-Score keeps one: a scalar Score written with write_netcdf."""
    print(write_netcdf(Score(float(value)), dst))


def cv_kwargs(benchmark, metric):
    if metric == "linear":
        return dict(splits=10, train_size=0.9, kfold=False, random_state=1)
    kwargs = dict(split_coord="story", kfold="group", random_state=1234)
    return {**kwargs, "splits": 8} if benchmark == "blank" else kwargs


class Features(ArtificialSubject):
    """Records what a subject returns to the benchmark (in presentation order)."""

    def __init__(self, subject):
        self.subject, self.blocks = subject, []

    def identifier(self):
        return self.subject.identifier()

    def start_neural_recording(self, recording_target, recording_type):
        return self.subject.start_neural_recording(recording_target, recording_type)

    def digest_text(self, text):
        out = self.subject.digest_text(text)
        self.blocks.append(np.asarray(out["neural"].values, dtype=float))
        return out


def score(path, out, benchmark, experiment, metric_name, sigma, max_features, ceiling, compute_ceiling):
    from brainscore_language.benchmarks.blank2014.benchmark import Blank2014
    from brainscore_language.benchmarks.blank2014.ceiling import ExtrapolationCeiling as BlankCeiling
    from brainscore_language.benchmarks.pereira2018.benchmark import _Pereira2018Experiment
    from brainscore_language.models.oasm.model import OASMSubject

    data = AssemblyLoader(cls=NeuroidAssembly, file_path=path).load().load()
    if benchmark == "pereira":  # _Pereira2018Experiment._load_data, minus the store
        data = data.sel(experiment=experiment).dropna("neuroid")
        cls = _Pereira2018Experiment
    else:
        cls = Blank2014
    metric = load_metric(f"{metric_name}_pearsonr", crossvalidation_kwargs=cv_kwargs(benchmark, metric_name))
    result = {}
    if compute_ceiling:
        ceiler = BlankCeiling() if benchmark == "blank" else BlankCeiling(subject_column="subject")
        ceiling = float(ceiler(assembly=data, metric=metric))
        result["ceiling"] = ceiling
    stub = SimpleNamespace(data=data, metric=metric, ceiling=Score(ceiling if ceiling is not None else 1.0))
    models = {"oasm": OASMSubject(identifier=f"oasm-sigma{sigma}", sigma=sigma, max_features=max_features),
              "randomembedding-100": load_model("randomembedding-100")}
    for name, model in models.items():
        recorder = Features(model)
        s = cls.__call__(stub, recorder)
        result[name] = {"raw": float(s.attrs["raw"]), "ceiled": float(s),
                        "features": np.concatenate(recorder.blocks).tolist()}
    with open(out, "w") as f:
        json.dump(result, f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["write", "write-ceiling", "score"])
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--benchmark", default="pereira")
    parser.add_argument("--experiment", default="243sentences")
    parser.add_argument("--metric", default="ridge")
    parser.add_argument("--sigma", type=float, default=1.0)
    parser.add_argument("--max-features", type=int, default=2000)
    parser.add_argument("--ceiling", type=float, default=None)
    parser.add_argument("--compute-ceiling", action="store_true")
    args = parser.parse_args()
    if args.mode == "write":
        write(args.src, args.dst)
    elif args.mode == "write-ceiling":
        write_ceiling(args.src, args.dst)
    else:
        score(args.src, args.dst, args.benchmark, args.experiment, args.metric, args.sigma, args.max_features,
              args.ceiling, args.compute_ceiling)


if __name__ == "__main__":
    main()
