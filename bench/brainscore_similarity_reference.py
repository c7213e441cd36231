"""Score arrays with Brain-Score's own `cka` and `rdm` metrics (the reference for ours).

Runs ONLY inside the separate Brain-Score venv (numpy<2; see docs/metrics.md):

    $BRAINSCORE_PYTHON bench/brainscore_similarity_reference.py problem.npz out.json

problem.npz holds X ([layers, n, d]) and Y ([n, m]), rows in the same order. Each layer is scored
as Brain-Score's benchmarks call a metric: metric(model_assembly, brain_assembly), with the default
cross-validation (the splits are drawn over the brain assembly's rows). Writes per metric and
layer: raw, per_split, and the seconds of the metric call.
"""
import json
import os
import sys
import time
import warnings

os.environ.setdefault("BS_INSTALL_DEPENDENCIES", "no")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly  # noqa: E402
from brainscore_language.metrics.cka.metric import CKACrossValidated  # noqa: E402
from brainscore_language.metrics.rdm.metric import RDMCrossValidated  # noqa: E402


def assembly(values, prefix):
    n, m = values.shape
    return NeuroidAssembly(
        values,
        coords={"stimulus_id": ("presentation", [f"s{i:05d}" for i in range(n)]),
                # a second coordinate per dimension, so brainio keeps them as a MultiIndex
                "position": ("presentation", np.arange(n)),
                "neuroid_id": ("neuroid", [f"{prefix}{j:06d}" for j in range(m)]),
                "region": ("neuroid", ["language"] * m)},
        dims=["presentation", "neuroid"])


def main(problem_path, out_path):
    problem = np.load(problem_path)
    X, Y = problem["X"], problem["Y"]
    brain = assembly(Y, "n")
    results = {}
    for name, make in (("cka", CKACrossValidated), ("rdm", RDMCrossValidated)):
        metric = make()
        layers = []
        for x in X:
            t0 = time.perf_counter()
            score = metric(assembly(x, "f"), brain)
            seconds = time.perf_counter() - t0
            raw = score.attrs["raw"]
            layers.append({"raw": float(score.values), "per_split": [float(v) for v in raw.values],
                           "seconds": seconds})
        results[name] = layers
    with open(out_path, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
