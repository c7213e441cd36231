"""SyntaxGym accuracies from Brain-Score 2.3's own benchmark code (the reference for brainalign's syntaxgym).

Runs ONLY inside the separate Brain-Score venv:

    $BRAINSCORE_PYTHON bench/brainscore_syntaxgym_reference.py SUITES_DIR OURS.npz OUT.json \
        [--model FOLDER | --gguf] [--suites a b] [--max-items N] [--no-kv] [--threads 1]

SUITES_DIR holds the suite JSON files; OURS.npz has brainalign's region surprisals, one array
[items, conditions, regions] per suite. Two things are computed with Brain-Score's `SyntaxGymTSE`
(its region totals with NaN -> 0, its pyparsing formulas, its conjunction, its `accuracy` metric and
its mean over suites; the benchmark declares `pyparsing` as a requirement: `pip install pyparsing` there):
  1. `on_our_surprisals`: a stub subject answers `digest_text` with brainalign's region surprisals,
     so only the formula evaluation and aggregation are Brain-Score's;
  2. `end_to_end` (with --model/--gguf): Brain-Score's HuggingfaceSubject computes the surprisals
     too; its region totals are written out for a per-region comparison.
"""
import argparse
import json
import os
import warnings

os.environ.setdefault("BS_INSTALL_DEPENDENCIES", "no")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from brainscore_core.supported_data_standards.brainio.assemblies import BehavioralAssembly  # noqa: E402
from brainscore_language.artificial_subject import ArtificialSubject  # noqa: E402
from brainscore_language.benchmarks.syntaxgym.benchmark import SyntaxGymTSE  # noqa: E402


class Stub(ArtificialSubject):
    """Answers reading-time `digest_text(parts)` with precomputed region surprisals."""

    def __init__(self, table):
        self.table = table

    def identifier(self):
        return "brainalign-surprisals"

    def start_behavioral_task(self, task):
        pass

    def digest_text(self, parts):
        bits = self.table[tuple(parts)]
        return {"behavior": BehavioralAssembly(list(bits), coords={"part_number": ("presentation", list(range(len(bits))))},
                                               dims=["presentation"])}


class Recorder(ArtificialSubject):
    """Wraps a subject and records the region surprisals it returns, by region texts."""

    def __init__(self, subject):
        self.subject, self.seen = subject, {}

    def identifier(self):
        return self.subject.identifier()

    def start_behavioral_task(self, task):
        self.subject.start_behavioral_task(task)

    def digest_text(self, parts):
        out = self.subject.digest_text(parts)
        self.seen[tuple(parts)] = [float(x) for x in out["behavior"].values]
        return out


def benchmark(suites_dir, names, max_items):
    bench = SyntaxGymTSE({n: os.path.join(suites_dir, f"{n}.json") for n in names})
    for sub in bench.sub_benchmarks:
        if max_items:
            sub.suite.items = sub.suite.items[:max_items]
    return bench


def scores(bench, subject):
    """Per-suite scores from each `SyntaxGymSingleTSE`, and their mean as `SyntaxGymTSE.__call__` takes it.

    (`SyntaxGymTSE.__call__` itself fails in 2.3: it calls `Score.merge(..., ignore_exceptions=True)`,
    which brainscore_core's Score.merge does not accept; its result is `sub_scores.mean()`.)
    """
    per_suite = {str(sub.suite.meta["name"]): float(sub(subject)) for sub in bench.sub_benchmarks}
    return float(np.mean(list(per_suite.values()))), per_suite


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suites_dir")
    parser.add_argument("ours")
    parser.add_argument("out")
    parser.add_argument("--suites", nargs="*")
    parser.add_argument("--max-items", type=int, default=0)
    parser.add_argument("--model", help="a HF causal LM folder for the end-to-end run")
    parser.add_argument("--gguf", help="package folder holding SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--no-kv", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    ours = np.load(args.ours)
    names = args.suites or sorted(ours.files)
    bench = benchmark(args.suites_dir, names, args.max_items)
    table = {}
    for sub, name in zip(bench.sub_benchmarks, names):
        bits = ours[name]
        conditions = [c["condition_name"] for c in sub.suite.items[0]["conditions"]]
        for i, item in enumerate(sub.suite.items):
            for cond in item["conditions"]:
                parts = tuple(r["content"] for r in cond["regions"])
                table[parts] = bits[i, conditions.index(cond["condition_name"])]
    result = {"suites": names, "max_items": args.max_items}
    result["on_our_surprisals"] = dict(zip(("overall", "per_suite"), scores(bench, Stub(table))))

    if args.model or args.gguf:
        from brainscore_language.model_helpers.huggingface import HuggingfaceSubject
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kw = {"gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf"} if args.gguf else {}
        folder = args.gguf or args.model
        if args.gguf:
            tokenizer = AutoTokenizer.from_pretrained(folder, truncation_side="left", **kw)
        else:  # a folder saved by transformers 5 names a tokenizer class 4.x lacks: read tokenizer.json
            from transformers import PreTrainedTokenizerFast

            config = json.load(open(os.path.join(folder, "tokenizer_config.json")))
            tokenizer = PreTrainedTokenizerFast(tokenizer_file=os.path.join(folder, "tokenizer.json"),
                                                truncation_side="left", model_max_length=config.get("model_max_length"),
                                                model_input_names=config.get("model_input_names",
                                                                             ["input_ids", "attention_mask"]),
                                                **{k: config[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token")
                                                   if isinstance(config.get(k), str)})
        if args.gguf:
            tokenizer.add_bos_token = False  # as conf/model/smollm2-135m.yaml (add_bos: false)
        model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, **kw).eval()
        if args.no_kv:
            forward = model.forward
            model.forward = lambda *a, **k: forward(*a, **{**k, "use_cache": False})
        subject = Recorder(HuggingfaceSubject(model_id="model", model=model, tokenizer=tokenizer,
                                              region_layer_mapping={}))
        result["end_to_end"] = dict(zip(("overall", "per_suite"), scores(benchmark(args.suites_dir, names, args.max_items),
                                                                         subject)))
        result["region_totals"] = [[list(k), v] for k, v in subject.seen.items()]
    with open(args.out, "w") as f:
        json.dump(result, f)
    print(f"Brain-Score: {len(names)} suites -> {args.out}")


if __name__ == "__main__":
    main()
