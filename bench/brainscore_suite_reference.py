"""Score a fixed feature matrix with Brain-Score's own Tuckute2024 / Fedorenko2016 benchmark classes.

Runs ONLY inside the Brain-Score venv (called by bench/crosscheck_suite.py through $BRAINSCORE_PYTHON):

    $BRAINSCORE_PYTHON bench/brainscore_suite_reference.py Fedorenko2016-ridge data.nc features.npz out.json

The benchmark's data set is the assembly in data.nc (Brain-Score's `load_dataset` is pointed at it);
the candidate is a stand-in ArtificialSubject whose `digest_text` returns, for each passage the
benchmark feeds it, the rows of features.npz (`X` [layers, presentations, d], rows in the file's
order, `layers` their names). Writes per layer the raw score, and the ceiling and ceiled score
where the benchmark has a ceiling.
"""
import json
import os
import sys
import time
import warnings

os.environ.setdefault("BS_INSTALL_DEPENDENCIES", "no")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
from brainscore_core.supported_data_standards.brainio.assemblies import AssemblyLoader, NeuroidAssembly  # noqa: E402
from brainscore_language.artificial_subject import ArtificialSubject  # noqa: E402
from brainscore_language.benchmarks.fedorenko2016 import benchmark as fedorenko  # noqa: E402
from brainscore_language.benchmarks.tuckute2024 import benchmark as tuckute  # noqa: E402

BENCHMARKS = {"Tuckute2024-linear": (tuckute, "Tuckute2024_linear", "stimulus_id"),
              "Tuckute2024-ridge": (tuckute, "Tuckute2024_ridge", "stimulus_id"),
              "Fedorenko2016-linear-shuffle": (fedorenko, "Fedorenko2016_linear_shuffle", "sentence_id"),
              "Fedorenko2016-ridge": (fedorenko, "Fedorenko2016_ridge", "sentence_id")}


class FixedFeatures(ArtificialSubject):
    """Answers each digest_text call with the next passage's rows of X, in the benchmark's passage order
    (sorted passage ids, rows in stored order within a passage)."""

    def __init__(self, X, layers, passage_ids):
        self.X, self.layers = X, layers
        self.passages = [np.flatnonzero(passage_ids == p) for p in sorted(set(passage_ids.tolist()))]
        self.calls = 0

    def start_neural_recording(self, recording_target, recording_type):
        pass

    def digest_text(self, stimuli):
        rows = self.passages[self.calls]
        self.calls += 1
        assert len(rows) == len(stimuli)
        values = np.concatenate([self.X[k][rows] for k in range(len(self.layers))], axis=1)
        d = self.X.shape[2]
        layer = np.repeat(self.layers, d)
        neural = NeuroidAssembly(values, dims=["presentation", "neuroid"], coords={
            "stimulus": ("presentation", list(stimuli)), "part_number": ("presentation", np.arange(len(rows))),
            "layer": ("neuroid", layer), "region": ("neuroid", ["language_system"] * len(layer)),
            "neuroid_id": ("neuroid", [f"{name}--{j}" for name in self.layers for j in range(d)])})
        return {"neural": neural}


def main(name, data_path, features_path, out_path):
    module, factory, passage_coord = BENCHMARKS[name]
    assembly = AssemblyLoader(cls=NeuroidAssembly, file_path=data_path).load()
    module.load_dataset = lambda identifier: assembly
    t0 = time.monotonic()
    benchmark = getattr(module, factory)()
    t_init = time.monotonic() - t0
    with np.load(features_path) as z:
        X, layers = z["X"], [str(x) for x in z["layers"]]
    candidate = FixedFeatures(X, layers, assembly[passage_coord].values)
    t0 = time.monotonic()
    score = benchmark(candidate)
    t_score = time.monotonic() - t0
    out = {"benchmark": name, "layers": {}, "init_s": t_init, "score_s": t_score,
           "ceiling": None if benchmark.ceiling is None else float(benchmark.ceiling)}
    for layer, s in score.attrs["layer_scores"].items():
        raw = s.attrs["raw"] if "ceiling" in s.attrs else s
        out["layers"][str(layer)] = {"raw": float(raw), "ceiled": float(s) if "ceiling" in s.attrs else None}
    out["score"] = float(score)
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(*sys.argv[1:5])
