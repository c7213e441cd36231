"""Print every result's score under each protocol side by side (docs/protocols.md).

    python -m brainalign.analysis.protocols [results_dir] [--score raw|ceiled]

One row per model x dataset x metric, one column per protocol: the best layer's score under
that protocol (each protocol chooses its own best layer), then the ceiling and how it was obtained.
"""

import argparse

from brainalign.analysis.collect import read_runs
from brainalign.errors import BrainalignError


def collect(results_dir) -> list[dict]:
    results, _, skipped = read_runs(results_dir)
    for line in skipped:
        print(f"[brainalign] skipped {line}")
    rows = []
    for result in results:
        protocols = result.get("protocols")
        if not protocols:
            continue
        source = result.get("ceiling_source") or {}
        if isinstance(source, list):
            source = source[0]
        rows.append({"model": result["model"]["name"], "dataset": result["dataset"], "metric": result["metric"],
                     "protocols": protocols, "ceiling": result.get("ceiling"),
                     "ceiling_source": f"{source.get('kind', '?')} ({source.get('metric', '?')})" if source else "",
                     "synthetic": bool(result.get("synthetic"))})
    return rows


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def table(rows, score: str = "raw") -> str:
    names = list(dict.fromkeys(p for row in rows for p in row["protocols"]))
    width = max([24] + [len(r["metric"]) for r in rows])
    head = f"{'model':<24} {'dataset':<14} {'metric':<{width}}" + "".join(f" {n:>11}" for n in names) + "  ceiling"
    lines = [head, "-" * len(head)]
    for row in sorted(rows, key=lambda r: (r["dataset"], r["metric"], r["model"])):
        cells = "".join(f" {_fmt(row['protocols'][n].get(score)):>11}" if n in row["protocols"] else f" {'-':>11}"
                        for n in names)
        ceiling = f"{row['ceiling']:.4f} {row['ceiling_source']}" if row["ceiling"] is not None else ""
        lines.append(f"{row['model']:<24} {row['dataset']:<14} {row['metric']:<{width}}{cells}  {ceiling}"
                     + ("  [SYNTHETIC]" if row["synthetic"] else ""))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results_dir", nargs="?", default="outputs")
    parser.add_argument("--score", choices=["raw", "ceiled"], default="raw")
    args = parser.parse_args(argv)
    try:
        rows = collect(args.results_dir)
    except BrainalignError as e:
        raise SystemExit(f"[brainalign] error: {e}") from None
    if not rows:
        raise SystemExit(f"no result.json with per-protocol scores under {args.results_dir} "
                         "(score with metric.cv=[shuffle,group])")
    print(f"best-layer {args.score} score per protocol")
    print(table(rows, args.score))


if __name__ == "__main__":
    main()
