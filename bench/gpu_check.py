"""GPU evidence in one run: a randomly initialised Llama with LLaMA-7B's shapes (bf16, no weights
needed) goes through the study's pipeline at Pereira2018's size, and every stage prints its time,
throughput and peak memory, with equality checks against the CPU path on a small slice.

    PYTHONPATH=. python bench/gpu_check.py                      # one H100/H200-class GPU, < 8 min
    PYTHONPATH=. python bench/gpu_check.py --tiny --device cpu  # the same code on a tiny Llama (tests)

Stages:
1. build: LlamaConfig(hidden 4096, intermediate 11008, 32 layers, 32 heads, vocab 32000, 2048
   positions), random weights, bf16 on the device (`--tiny`: 64 wide, 2 layers, float32).
   The tokenizer is the tiny Llama's (trained in-process; ids fit the 32000-word embedding).
2. extract: 627 sentences in passages of 4 (Pereira's 627 in 2 experiments, here one set), every
   layer (embedding + blocks), batched as brainalign.activations.extract does on this device.
3. metric: cross-validated linear predictivity of Pereira-shaped responses (627 x 13,553, planted
   from one layer) per layer, with brainalign.metrics.linear_predictivity(backend="torch") when it
   has a backend argument, else its numpy path (printed).
4. futrell: `fast` surprisal over a 10,256-word text in batches of windows.
5. checks: on the first passages, batched features vs one sequence per pass on the device, and
   vs the CPU path (the same weights in float32 on the CPU); surprisal batched vs one window a pass.
"""

import argparse
import inspect
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from brainalign.activations.extract import batch_size_for, extract  # noqa: E402
from brainalign.models.load import LoadedModel  # noqa: E402

LLAMA_7B = dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                num_key_value_heads=32, vocab_size=32000, max_position_embeddings=2048)
TINY = dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=4, vocab_size=2048, max_position_embeddings=256)


def sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def peak(device) -> str:
    import resource

    host = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    if str(device).startswith("cuda"):
        return f"peak device {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB, host {host:.1f} GiB"
    return f"peak host {host:.1f} GiB"


def stage(name, device, seconds, detail):
    print(f"[{name}] {seconds:.2f} s; {detail}; {peak(device)}", flush=True)


def sentences(n: int, seed: int = 0) -> list[str]:
    """n English sentences of 8-20 words (the Python reference manual's prose, as the tiny tokenizer's)."""
    from brainalign.models.tiny import _lines

    lines = [" ".join(line.split()[:20]) for line in _lines() if 8 <= len(line.split())]
    rng = np.random.default_rng(seed)
    return [lines[i] for i in rng.choice(len(lines), n, replace=len(lines) < n)]


def build(args, tokenizer_dir: Path):
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from brainalign.models.tiny import build_tiny

    build_tiny("llama", tokenizer_dir)
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    tok.truncation_side = "left"
    shape = TINY if args.tiny else LLAMA_7B
    dtype = torch.float32 if args.tiny else torch.bfloat16
    config = LlamaConfig(**shape, bos_token_id=1, eos_token_id=2, pad_token_id=2)
    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(args.device):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(default)
    model.eval()
    from brainalign.config import model_config

    cfg = model_config({"name": "llama-7b-shape" if not args.tiny else "tiny-llama", "family": "llama",
                        "add_bos": None, "layers": ["embedding", "blocks"], "batch_size": args.batch_size})
    return LoadedModel(model=model, tokenizer=tok, cfg=cfg, max_length=shape["max_position_embeddings"],
                       device=args.device)


def rel(a, b) -> float:
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


def verdict(value, limit) -> str:
    return "ok" if value <= limit else f"CHECK (> {limit:g})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="a tiny Llama (CPU tests), not LLaMA-7B's shapes")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--sentences", type=int, default=627)
    ap.add_argument("--neuroids", type=int, default=13553)
    ap.add_argument("--words", type=int, default=10256, help="Futrell-sized text for `fast` surprisal")
    ap.add_argument("--stride", type=int, default=None, help="fast stride (default: a quarter of the window)")
    ap.add_argument("--batch-size", type=int, default=None, help="sequences per pass (default: from memory)")
    ap.add_argument("--check-passages", type=int, default=4, help="passages of the equality checks")
    args = ap.parse_args(argv)
    device = args.device
    failures = []
    t_all = time.perf_counter()
    print(f"device {device}" + (f" ({torch.cuda.get_device_name()})" if device.startswith("cuda") else
                                f" ({torch.get_num_threads()} threads)"), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        lm = build(args, Path(tmp) / "tok")
        sync(device)
        n_params = sum(p.numel() for p in lm.model.parameters())
        stage("build", device, time.perf_counter() - t0,
              f"{n_params / 1e9:.2f} B params, {next(lm.model.parameters()).dtype}")

    # 2. extraction
    sents = sentences(args.sentences)
    passages = [sents[i:i + 4] for i in range(0, len(sents), 4)]
    extract(lm, passages[:2], progress=False)  # warm-up (kernels, allocator)
    sync(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    feats = extract(lm, passages, progress=False)
    sync(device)
    seconds = time.perf_counter() - t0
    tokens = sum(len(lm.encode(" ".join(p))) for p in passages)
    stage("extract", device, seconds,
          f"{len(passages)} passages, {len(sents)} sentences, {len(feats.layers)} layers x {feats.values.shape[-1]}; "
          f"{tokens / seconds:,.0f} tokens/s, {2 * n_params * tokens / seconds / 1e12:.1f} TFLOP/s")

    # 3. metric
    from brainalign import metrics

    rng = np.random.default_rng(0)
    X = feats.values
    planted = X.shape[0] // 2
    signal = X[planted] @ rng.standard_normal((X.shape[2], args.neuroids)).astype(np.float32) / np.sqrt(X.shape[2])
    Y = signal / signal.std(0) + rng.standard_normal((len(sents), args.neuroids)).astype(np.float32)
    subjects = np.repeat(np.arange(10).astype(str), -(-args.neuroids // 10))[:args.neuroids]
    has_backend = "backend" in inspect.signature(metrics.linear_predictivity).parameters
    kwargs = dict(backend="torch", device=device) if has_backend else {}
    if has_backend and "device" not in inspect.signature(metrics.linear_predictivity).parameters:
        kwargs.pop("device")
    if not has_backend:
        print("[metric] note: linear_predictivity has no backend= yet; scoring with its numpy path on the CPU")
    t0 = time.perf_counter()
    scores = metrics.linear_predictivity(X, Y, subjects=subjects, **kwargs)
    sync(device)
    seconds = time.perf_counter() - t0
    raw = np.array([s.raw for s in scores])
    stage("metric", device, seconds, f"{len(scores)} layers x {len(sents)} x {X.shape[2]} -> {args.neuroids} neuroids, "
          f"{seconds / len(scores):.2f} s per layer; best layer {int(raw.argmax())} (planted {planted}), "
          f"r {raw.max():.3f}")
    if has_backend:
        ref = metrics.linear_predictivity(X[:2], Y, subjects=subjects)
        d = max(abs(a.raw - b.raw) for a, b in zip(scores[:2], ref))
        print(f"[check] metric {kwargs.get('backend')} vs numpy on 2 layers: |diff| {d:.1e} {verdict(d, 1e-6)}")
        failures += [] if d <= 1e-6 else ["metric"]

    # 4. Futrell `fast`
    from brainalign.surprisal import word_surprisal

    words = " ".join(sentences(args.words // 8 + 1, seed=1)).split()[:args.words]
    window = lm.max_length
    stride = args.stride or window // 4
    c = lm.model.config
    wbatch = args.batch_size or (batch_size_for(torch.cuda.mem_get_info()[0], window, c.hidden_size,
                                                c.num_attention_heads, c.intermediate_size, 2, cap=64)
                                 if device.startswith("cuda") else 4)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    s = word_surprisal(lm, words, mode="fast", stride=stride, batch_size=wbatch)
    sync(device)
    seconds = time.perf_counter() - t0
    n_tok = len(lm.tokenizer(" ".join(words))["input_ids"])
    stage("futrell", device, seconds, f"fast over {len(words):,} words ({n_tok:,} tokens), window {window}, "
          f"stride {stride}, {s.settings['passes']} windows in batches of {wbatch}; "
          f"{s.settings['passes'] * window / seconds:,.0f} tokens/s")

    # 5. equality checks on a slice
    part = passages[:args.check_passages]
    batched = extract(lm, part, progress=False)
    single = extract(lm, part, progress=False, batch_size=1)
    limit = 1e-5 if next(lm.model.parameters()).dtype == torch.float32 else 2e-2
    d = rel(batched.values, single.values)
    print(f"[check] batched vs one sequence per pass ({device}, {len(part)} passages): {d:.1e} of scale "
          f"{verdict(d, limit)}")
    failures += [] if d <= limit else ["batched"]
    check_words = words[:400 if args.tiny else 2500]  # several windows: the window plus a few strides
    one = word_surprisal(lm, check_words, mode="fast", stride=stride, batch_size=1).bits
    many = word_surprisal(lm, check_words, mode="fast", stride=stride, batch_size=wbatch).bits
    d = float(np.nanmax(np.abs(one - many)))
    print(f"[check] surprisal batched vs one window per pass: max |diff| {d:.1e} bits {verdict(d, 50 * limit)}")
    failures += [] if d <= 50 * limit else ["surprisal"]
    if device != "cpu":
        from dataclasses import replace

        cpu = replace(lm, model=lm.model.to("cpu", torch.float32), device="cpu")
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
        on_cpu = extract(cpu, part[:2], progress=False, batch_size=1)
        d = rel(batched.values[:, :on_cpu.values.shape[1]], on_cpu.values)
        cpu_limit = 1e-5 if limit == 1e-5 else 1e-1
        print(f"[check] {device} ({'bf16' if limit > 1e-5 else 'fp32'}) vs CPU float32, 2 passages: {d:.1e} of scale "
              f"{verdict(d, cpu_limit)}")
        failures += [] if d <= cpu_limit else ["cpu"]
    total = time.perf_counter() - t_all
    print(f"total {total:.1f} s; " + ("all checks ok" if not failures else f"checks to look at: {failures}"))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
