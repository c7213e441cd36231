"""Cross-check baselines, metric=ridge and Blank2014's ridge ceiling against Brain-Score 2.3 end to end.

Both sides read the same assembly files, written with Brain-Score's own write_netcdf
(bench/brainscore_benchmark_reference.py, run in the Brain-Score venv):

* Pereira2018-shaped: the real 627 sentences (shared data) with confound-simulated voxels; the
  243sentences-ridge benchmark (Brain-Score's _Pereira2018Experiment.__call__) on OASM and
  randomembedding-100 vs `python main.py model=oasm|randomembedding-100 dataset=pereira_243
  metric=ridge dataset.path=...` (ceiling: a stored-ceiling file, also written by write_netcdf).
* Blank2014-shaped: 8 stories of made-up fragments, 5 subjects x 2 fROIs; Blank2014-ridge's
  ceiling (ExtrapolationCeiling with the ridge metric) vs ours, and both models' raw scores.

    BRAINSCORE_PYTHON=/path/to/bsenv/bin/python python bench/crosscheck_protocols.py [--tol 1e-6]

Prints every difference; exit status 1 if one exceeds --tol.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REFERENCE = REPO / "bench" / "brainscore_benchmark_reference.py"
PEREIRA_CSV = Path(os.environ.get("BRAINALIGN_SHARED") or REPO.parent / "shared") / "data" / "pereira2018" / \
    "Pereira2018_stimulus_set.csv"
MODELS = ("oasm", "randomembedding-100")
# scipy's gaussian_filter1d itself differs by up to 1 ulp between the two venvs (numpy 1.26 vs 2.x
# exp), so OASM's smoothed values can differ in the last bit; everything else is compared exactly
FEATURE_TOL = 1e-15


def bs(bs_python, *args):
    env = {**os.environ, "BS_INSTALL_DEPENDENCIES": "no", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([bs_python, str(REFERENCE), *map(str, args)], env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"brainscore_benchmark_reference.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip()


def blank_like(n_stories=8, per_story=24, seed=0):
    """Stimuli and neuroids laid out like Blank2014.fROI (5 subjects x 2 fROIs)."""
    from brainalign.datasets.confound_sim import Simulation, simulate

    rng = np.random.default_rng(seed)
    words = ["the", "boar", "ran", "into", "woods", "and", "a", "king", "sang", "slowly", "of", "birds"]
    rows = [{"stimulus_id": f"{s}.{i:03d}", "story": f"story{s}", "sentence_number_in_story": i // 3,
             "part_number_in_sentence": i % 3,
             "stimulus": " ".join(rng.choice(words, size=rng.integers(2, 6)))}
            for s in range(n_stories) for i in range(per_story)]
    stimuli = pd.DataFrame(rows)
    # one simulated time course per fROI, shared by the subjects (plus each subject's own noise),
    # so that the inter-subject ceiling is well above zero
    sim = simulate(stimuli, block="story", n_subjects=1, voxels_per_subject=2, text="stimulus", seed=seed)
    responses = np.tile(sim.responses, 5) + rng.standard_normal((len(stimuli), 10))
    neuroids = pd.DataFrame({"subject_id": np.repeat([f"sub{i}" for i in range(5)], 2),
                             "fROI_area": np.tile(["LH_IFG", "LH_AntTemp"], 5)})
    neuroids["neuroid_id"] = neuroids["subject_id"] + "." + neuroids["fROI_area"]
    return Simulation(stimuli, responses, neuroids, sim.signal, sim.confound, sim.features)


def ours(model, dataset, path, folder, extra=()):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from brainalign.benchmarks import ModelProvider, RunContext, build
    from brainalign.benchmarks.brain import features_for
    from brainalign.config import setup

    setup()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"model={model}", f"dataset={dataset}", "metric=ridge",
                                           f"dataset.path={path}", f"cache_dir={folder}/cache", "progress=false",
                                           *extra])
    bench = build(cfg.dataset, cfg.metric)
    provider = ModelProvider(cfg.model)
    ctx = RunContext(cache_dir=Path(folder) / "cache", progress=False)
    result = bench.run(provider, ctx)
    data = bench.load()[0]
    X, _, _ = features_for(data, provider, ctx)
    order = np.concatenate(data.passages())
    return result, X[0][order]  # features in presentation order, as Brain-Score's subject produced them


def same_zeros(name, mine, theirs, report):
    """OASM's block offsets: the non-zero entries must be the same ones."""
    ok = bool(np.array_equal(np.asarray(mine) != 0, np.asarray(theirs) != 0))
    report.append((name, 0.0 if ok else 1.0, ok))
    print(f"{name:<48} {'same' if ok else 'DIFFERENT'}")


def compare(name, mine, theirs, tol, report):
    diff = float(np.max(np.abs(np.asarray(mine, float) - np.asarray(theirs, float))))
    report.append((name, diff, diff <= tol))
    print(f"{name:<48} ours {np.ravel(mine)[0] if np.size(mine) == 1 else '[array]'!s:>24}  diff {diff:.3e}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bs-python", default=os.environ.get("BRAINSCORE_PYTHON"))
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--sigma", type=float, default=1.0)
    parser.add_argument("--skip-blank", action="store_true")
    args = parser.parse_args()
    if not args.bs_python or not Path(args.bs_python).exists():
        sys.exit("set BRAINSCORE_PYTHON (or --bs-python) to the Brain-Score venv's python")
    from brainalign.datasets.confound_sim import pereira_stimuli, simulate, write_assembly

    report = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        # Pereira2018.243sentences-ridge
        sim = simulate(pereira_stimuli(PEREIRA_CSV), n_subjects=3, voxels_per_subject=4)
        write_assembly(folder / "in.nc", sim)
        bs(args.bs_python, "write", folder / "in.nc", folder / "pereira.nc")
        bs(args.bs_python, "write-ceiling", 0.3, folder / "ceiling_Pereira2018_243sentences-ridge.nc")
        bs(args.bs_python, "score", folder / "pereira.nc", folder / "ref.json", "--benchmark", "pereira",
           "--experiment", "243sentences", "--metric", "ridge", "--sigma", args.sigma, "--ceiling", 0.3)
        ref = json.loads((folder / "ref.json").read_text())
        for model in MODELS:
            extra = [f"dataset.ridge_ceiling_dir={folder}"]
            if model == "oasm":
                extra.append(f"model.sigma={args.sigma}")
            result, X = ours(model, "pereira_243", folder / "pereira.nc", folder, extra)
            compare(f"pereira_243 ridge {model}: features", X, ref[model]["features"], FEATURE_TOL, report)
            same_zeros(f"pereira_243 {model}: zero pattern", X, ref[model]["features"], report)
            compare(f"pereira_243 ridge {model}: raw", result["raw"], ref[model]["raw"], args.tol, report)
            compare(f"pereira_243 ridge {model}: ceiled", result["ceiled"], ref[model]["ceiled"], args.tol, report)
        compare("pereira_243 ridge: stored ceiling read back", result["ceiling"], 0.3, 0, report)
        if not args.skip_blank:  # Blank2014-ridge: ceiling computed with the ridge metric
            write_assembly(folder / "in_blank.nc", blank_like())
            bs(args.bs_python, "write", folder / "in_blank.nc", folder / "blank.nc")
            bs(args.bs_python, "score", folder / "blank.nc", folder / "ref_blank.json", "--benchmark", "blank",
               "--metric", "ridge", "--sigma", args.sigma, "--compute-ceiling")
            ref = json.loads((folder / "ref_blank.json").read_text())
            for model in MODELS:
                extra = [f"model.sigma={args.sigma}"] if model == "oasm" else []
                result, X = ours(model, "blank", folder / "blank.nc", folder, extra)
                compare(f"blank ridge {model}: features", X, ref[model]["features"], FEATURE_TOL, report)
                same_zeros(f"blank {model}: zero pattern", X, ref[model]["features"], report)
                compare(f"blank ridge {model}: raw", result["raw"], ref[model]["raw"], args.tol, report)
            compare("blank ridge: computed ceiling", result["ceiling"], ref["ceiling"], args.tol, report)
            print(f"  (Brain-Score's Blank2014-ridge ceiling here {ref['ceiling']:.6f}; "
                  f"source: {result['ceiling_source']['kind']} with metric {result['ceiling_source']['metric']})")
    bad = [r for r in report if not r[2]]
    print(f"{len(report) - len(bad)}/{len(report)} within tolerance (features {FEATURE_TOL:g}, scores and ceiling {args.tol:g})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
