"""Cross-check brainalign's SyntaxGym-2020 against Brain-Score 2.3's own `SyntaxGymTSE`.

Computes brainalign's region surprisals for the suites, then runs Brain-Score's benchmark in its
venv (bench/brainscore_syntaxgym_reference.py) twice: on brainalign's region surprisals (a stub
subject: only formulas and aggregation are Brain-Score's) and end to end with its own
HuggingfaceSubject on the same model. Prints the accuracy differences and the largest region
surprisal difference.

    BRAINSCORE_PYTHON=/path/to/bsenv/bin/python python bench/crosscheck_syntaxgym.py            # tiny gpt2, all 31 suites
    ... python bench/crosscheck_syntaxgym.py --max-items 3 --model smollm2                       # the real SmolLM2
    ... python bench/crosscheck_syntaxgym.py --mode fast                                         # brainalign's batched read-out
    ... python bench/crosscheck_syntaxgym.py --mode fast --formulas-only                         # every item, formulas only

Exit status 1 if an accuracy differs or a region differs by more than --tol bits.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REFERENCE = REPO / "bench" / "brainscore_syntaxgym_reference.py"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suites", nargs="*")
    parser.add_argument("--max-items", type=int, default=0, help="first N items per suite (0: all)")
    parser.add_argument("--model", default="tiny-gpt2", help="tiny-gpt2 (built in a temp folder) or smollm2")
    parser.add_argument("--mode", default="exact", choices=("exact", "fast"))
    parser.add_argument("--no-kv", action="store_true", help="Brain-Score's 2023 path (re-run per region); "
                        "its 2026 KV-cache path crashes on a suite with an empty region")
    parser.add_argument("--formulas-only", action="store_true", help="only Brain-Score's formulas and aggregation")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--bs-python", default=os.environ.get("BRAINSCORE_PYTHON"))
    args = parser.parse_args()
    if not args.bs_python or not Path(args.bs_python).exists():
        raise SystemExit("set BRAINSCORE_PYTHON to the python of a venv with brainscore-language 2.3")

    import torch
    from omegaconf import OmegaConf

    from brainalign.benchmarks.syntaxgym import item_dicts, region_surprisals
    from brainalign.datasets.syntaxgym import load_suites, suites_dir
    from brainalign.metrics.syntaxgym import suite_accuracy
    from brainalign.models.load import load_model, model_source

    torch.set_num_threads(args.threads)
    folder = suites_dir()
    suites = load_suites(folder, args.suites, max_items=args.max_items or None)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.model == "smollm2":
            cfg = OmegaConf.load(REPO / "conf" / "model" / "smollm2-135m.yaml")
            reference_model = ["--gguf", str(model_source(cfg)["path"])]
        else:
            from brainalign.models.tiny import build_tiny

            path = build_tiny("gpt2", tmp / "gpt2")
            cfg = OmegaConf.create({"name": "tiny-gpt2", "path": str(path), "arch": "causal"})
            reference_model = ["--model", str(path)]
        lm = load_model(cfg)
        ours = {s.name: region_surprisals(lm, s, {"mode": args.mode, "window": None}, progress=True) for s in suites}
        np.savez(tmp / "ours.npz", **ours)
        command = [args.bs_python, str(REFERENCE), str(folder), str(tmp / "ours.npz"), str(tmp / "bs.json"),
                   "--suites", *[s.name for s in suites], "--threads", str(args.threads)]
        command += [] if args.formulas_only else reference_model
        command += ["--max-items", str(args.max_items)] if args.max_items else []
        command += ["--no-kv"] if args.no_kv else []
        subprocess.run(command, check=True, env={**os.environ, "BS_INSTALL_DEPENDENCIES": "no"})
        bs = json.loads((tmp / "bs.json").read_text())

    acc = {s.name: suite_accuracy(s.predictions, item_dicts(s, ours[s.name])) for s in suites}
    overall = float(np.mean(list(acc.values())))
    same_formulas = max(abs(acc[n] - bs["on_our_surprisals"]["per_suite"][n]) for n in acc)
    print(f"formulas + aggregation on the same surprisals ({len(suites)} suites, {sum(s.n_items for s in suites)} items): "
          f"overall {overall:.6f} vs Brain-Score {bs['on_our_surprisals']['overall']:.6f}; "
          f"largest per-suite difference {same_formulas:.2e}")
    if args.formulas_only:
        sys.exit(1 if same_formulas > 0 else 0)
    region = {tuple(parts): np.nan_to_num(np.array(v, dtype=float)) for parts, v in bs["region_totals"]}
    diffs, worst_sentence = [], None
    for s in suites:
        for i in range(s.n_items):
            for j, c in enumerate(s.condition_names):
                theirs = region[tuple(s.sentences[i][c])]
                diffs.append(np.abs(theirs - ours[s.name][i, j]).max())
                if diffs[-1] == max(diffs):
                    worst_sentence = (s.sentences[i][c], ours[s.name][i, j].round(4), theirs.round(4))
    e2e = bs["end_to_end"]
    worst = max(abs(acc[n] - e2e["per_suite"][n]) for n in acc)
    print(f"end to end ({args.model}, brainalign mode={args.mode}, Brain-Score {'no-kv' if args.no_kv else 'kv cache'}): "
          f"overall {overall:.6f} vs Brain-Score {e2e['overall']:.6f} (difference {abs(overall - e2e['overall']):.2e}); "
          f"largest per-suite difference {worst:.2e}; region surprisal max |diff| {max(diffs):.2e} bits "
          f"over {len(diffs)} sentences")
    print(f"  largest region difference in {worst_sentence[0]}:\n    ours {worst_sentence[1]}\n    Brain-Score {worst_sentence[2]}")
    for n in acc:
        print(f"  {n:<24} ours {acc[n]:.4f}  Brain-Score {e2e['per_suite'][n]:.4f}")
    sys.exit(1 if same_formulas > 0 or worst > 0 or max(diffs) > args.tol else 0)


if __name__ == "__main__":
    main()
