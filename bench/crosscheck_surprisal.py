"""Cross-check brainalign's `exact` surprisal against Brain-Score's own HuggingfaceSubject, word by
word, on SmolLM2-135M over the real Natural Stories words.

Brain-Score runs in its own venv (bench/brainscore_surprisal_reference.py); this script, in the
project venv, runs both on the first --words words and prints the per-word differences and the
correlation of each with the mean reading times.

    python bench/crosscheck_surprisal.py --words 300 --window 64         # both truncate at 64 tokens
    python bench/crosscheck_surprisal.py --words 300 --window 64 --bos   # with the BOS transformers 4.x adds
    python bench/crosscheck_surprisal.py --reference bs.npy              # compare a saved reference run

Brain-Score is run with its 2023 path (--no-kv: the whole context re-run per word), which is what
`exact` reproduces. Exit status 1 if a word differs by more than --tol bits.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REFERENCE = REPO / "bench" / "brainscore_surprisal_reference.py"
SMOLLM2 = REPO / "conf" / "model" / "smollm2-135m.yaml"


def smollm2(bos: bool):
    """The project's SmolLM2 config (fp32 from the GGUF) with the BOS policy given."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(SMOLLM2)
    cfg.add_bos = bos
    return cfg


def reference_bits(bs_python, words, window, bos, threads):
    with tempfile.TemporaryDirectory() as folder:
        text, out = Path(folder) / "words.txt", Path(folder) / "bits.npy"
        text.write_text("\n".join(words))
        command = [bs_python, str(REFERENCE), str(text), str(out), "--no-kv", "--threads", str(threads)]
        command += ["--window", str(window)] if window else []
        command += ["--bos"] if bos else []
        subprocess.run(command, check=True, env={**os.environ, "BS_INSTALL_DEPENDENCIES": "no"})
        return np.load(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--window", type=int, default=64, help="context tokens (0: no truncation)")
    parser.add_argument("--bos", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--reference", help="a saved reference .npy instead of running Brain-Score")
    parser.add_argument("--bs-python", default=os.environ.get("BRAINSCORE_PYTHON"),
                        help="Brain-Score's venv python (default $BRAINSCORE_PYTHON)")
    args = parser.parse_args()

    import torch

    from brainalign.datasets.futrell import load_futrell
    from brainalign.metrics.reading_times import reading_time_alignment
    from brainalign.models.load import load_model
    from brainalign.surprisal import word_surprisal

    torch.set_num_threads(args.threads)
    data = load_futrell({"source": "naturalstories"})
    words = data.words.word.tolist()[:args.words or None]
    if args.reference:
        theirs = np.load(args.reference)[:len(words)]
    else:
        theirs = reference_bits(args.bs_python, words, args.window, args.bos, args.threads)
    lm = load_model(smollm2(args.bos))
    ours = word_surprisal(lm, words, mode="exact", window=args.window or None, progress=True).bits

    both = ~np.isnan(theirs) & ~np.isnan(ours)
    diff = np.abs(theirs - ours)[both]
    same_nan = bool((np.isnan(theirs) == np.isnan(ours)).all())
    rows = slice(0, len(words))
    ids = data.words.word_within_sentence_id.to_numpy()[rows]
    r_theirs = reading_time_alignment(theirs, data.mean_rt[rows], ids).rvalue
    r_ours = reading_time_alignment(ours, data.mean_rt[rows], ids).rvalue
    print(f"{len(words)} words, window {args.window or 'none'}, bos {args.bos}: |diff| max {diff.max():.2e}, "
          f"mean {diff.mean():.2e} bits; NaNs at the same words: {same_nan}; "
          f"r Brain-Score {r_theirs:.4f}, brainalign {r_ours:.4f}")
    sys.exit(0 if same_nan and diff.max() <= args.tol else 1)


if __name__ == "__main__":
    main()
