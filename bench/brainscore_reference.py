"""Score arrays with Brain-Score's own metric classes (the reference for our metrics).

Runs ONLY inside the separate Brain-Score venv (brainscore-language needs numpy<2 and an old
xarray, so it cannot live in the project venv; see docs/metrics.md):

    $BRAINSCORE_PYTHON bench/brainscore_reference.py problem.npz out.json \
        [--metrics linear_batched linear_scipy ridge] [--threads 2]

problem.npz holds X ([n, d] or [layers, n, d]), Y ([n, m]) and optionally stimulus_id [n],
groups [n] (the `story` used by the ridge GroupKFold), n_splits, linear_seed, ridge_seed.
Writes per metric and layer: raw, per_split, per_split_neuroid and the seconds of the metric call.
"""
import argparse
import json
import os
import time
import warnings

os.environ.setdefault("BS_INSTALL_DEPENDENCIES", "no")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import scipy.stats  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly  # noqa: E402
from brainscore_language.metrics.linear_predictivity import metric as bs  # noqa: E402


def assembly(values, stimulus_id, groups, prefix):
    n, m = values.shape
    return NeuroidAssembly(
        values,
        coords={"stimulus_id": ("presentation", stimulus_id),
                "story": ("presentation", groups),
                "neuroid_id": ("neuroid", [f"{prefix}{j:06d}" for j in range(m)]),
                # a second neuroid coordinate, as in Brain-Score's tests: with only one,
                # XarrayRegression's re-packaging of the prediction fails
                "region": ("neuroid", ["language"] * m)},
        dims=["presentation", "neuroid"])


def record_alphas(regression):
    """Wrap RidgeGCVTorch.fit to note the alpha it picks in each split."""
    alphas, fit = [], regression.fit

    def fit_and_record(*args, **kwargs):
        result = fit(*args, **kwargs)
        alphas.append(float(regression.alpha_))
        return result

    regression.fit = fit_and_record
    return alphas


def make_metric(name, n_splits, linear_seed, ridge_seed):
    linear_cv = dict(splits=n_splits, train_size=0.9, kfold=False, random_state=linear_seed)
    if name == "linear_batched":  # current Brain-Score: `linear_pearsonr`
        return bs.linear_pearsonr(crossvalidation_kwargs=linear_cv)
    if name == "linear_scipy":  # the 2023 correlation: scipy.stats.pearsonr per neuroid
        return bs.CrossRegressedCorrelation(regression=bs.linear_regression(),
                                            correlation=bs.XarrayCorrelation(scipy.stats.pearsonr),
                                            crossvalidation_kwargs=linear_cv)
    if name == "ridge":  # 2025 `-ridge` benchmarks
        ridge_cv = dict(splits=n_splits, split_coord="story", kfold="group", random_state=ridge_seed)
        return bs.ridge_pearsonr(crossvalidation_kwargs=ridge_cv)
    raise ValueError(name)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("problem")
    parser.add_argument("out")
    parser.add_argument("--metrics", nargs="+", default=["linear_batched", "linear_scipy", "ridge"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--layers", type=int, nargs="*", help="only these layer indices")
    args = parser.parse_args()

    data = np.load(args.problem, allow_pickle=False)
    X, Y = data["X"], data["Y"]
    X = X[None] if X.ndim == 2 else X
    n = Y.shape[0]
    stimulus_id = data["stimulus_id"] if "stimulus_id" in data else np.arange(n)
    groups = data["groups"] if "groups" in data else np.zeros(n, dtype=int)
    n_splits = int(data["n_splits"]) if "n_splits" in data else 10
    linear_seed = int(data["linear_seed"]) if "linear_seed" in data else 1
    ridge_seed = int(data["ridge_seed"]) if "ridge_seed" in data else 1234
    layers = args.layers if args.layers else list(range(len(X)))

    torch.set_num_threads(args.threads)
    target = assembly(Y, stimulus_id, groups, "t")
    out = {"versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                        "sklearn": __import__("sklearn").__version__,
                        "brainscore_language": __import__("importlib.metadata").metadata.version(
                            "brainscore-language")},
           "threads": args.threads, "results": {}}
    for name in args.metrics:
        results = []
        for layer in layers:
            source = assembly(X[layer], stimulus_id, groups, "s")
            metric = make_metric(name, n_splits, linear_seed, ridge_seed)
            alphas = record_alphas(metric.regression._regression) if name == "ridge" else None
            with threadpool_limits(args.threads):
                start = time.perf_counter()
                score = metric(source, target)
                seconds = time.perf_counter() - start
            raw = score.attrs["raw"].transpose("split", "neuroid")
            # the neuroid ids sort like the input columns, so this is our column order
            raw = raw.sortby("neuroid_id")
            results.append({"layer": layer, "raw": float(score.values),
                            "per_split": raw.median("neuroid").values.tolist(),
                            "per_split_neuroid": np.where(np.isnan(raw.values), None,
                                                          raw.values).tolist(),
                            "alphas": alphas, "seconds": seconds})
        out["results"][name] = results
    with open(args.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
