"""Where Brain-Score's 2026 Futrell2018 number for SmolLM2 comes from: compare its per-word surprisal
(sliding KV cache) with brainalign's, before and after the running text fills the model's window.

    $BRAINSCORE_PYTHON bench/brainscore_surprisal_reference.py words.txt bs_kv.npy   # ~70 min, 1 thread
    python bench/bench_surprisal.py --compare-words 0 --full-window 1024 --full-stride 512 --out ours.json
    python bench/brainscore_kv_split.py bs_kv.npy ours_full_bits.npy

words.txt: the Natural Stories words, one per line (`load_futrell(...).words.word`). Prints |r| with
the mean reading times over all words, before and after the word where the text reaches --window
tokens (the KV cache starts sliding there), the mean surprisal, and its correlation with word length.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SMOLLM2 = Path(__file__).resolve().parents[1] / "conf" / "model" / "smollm2-135m.yaml"  # fp32, no BOS


def first_word_past(tokenizer, words, n_tokens):
    """Index of the first word whose context (all words up to it, space-joined) exceeds n_tokens tokens."""
    from brainalign.surprisal.words import join_words, token_words, tokenize

    text, ends = join_words(words)
    tokens = tokenize(tokenizer, text, add_bos=False)
    owner = token_words(tokens.offsets, ends)
    counts = np.searchsorted(owner, np.arange(len(words)), side="right")  # tokens up to each word
    return int(np.searchsorted(counts, n_tokens, side="right"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("brainscore_bits")
    parser.add_argument("our_bits")
    parser.add_argument("--window", type=int, default=8192)
    args = parser.parse_args()

    from omegaconf import OmegaConf

    from brainalign.datasets.futrell import load_futrell
    from brainalign.metrics.reading_times import reading_time_alignment
    from brainalign.models.load import load_model

    data = load_futrell({"source": "naturalstories"})
    words = data.words.word.tolist()
    ids = data.words.word_within_sentence_id.to_numpy()
    length = np.array([len(w) for w in words], dtype=float)
    runs = {"Brain-Score (KV cache)": np.load(args.brainscore_bits), "brainalign": np.load(args.our_bits)}
    lm = load_model(OmegaConf.load(SMOLLM2))
    k = first_word_past(lm.tokenizer, words, args.window)
    print(f"the text reaches {args.window} tokens at word {k} of {len(words)}")
    for part, rows in [("all", slice(None)), (f"words < {k}", slice(0, k)), (f"words >= {k}", slice(k, None))]:
        for name, bits in runs.items():
            score = reading_time_alignment(bits[rows], data.mean_rt[rows], ids[rows])
            valid = ~np.isnan(bits[rows])
            r_length = np.corrcoef(bits[rows][valid], length[rows][valid])[0, 1]
            print(f"{part:>12} {name:>24}: r with mean RT {score.rvalue:.4f}, mean {np.nanmean(bits[rows]):.2f} "
                  f"bits/word, r with word length {r_length:.2f}")


if __name__ == "__main__":
    main()
