"""Write the analysis: report.md, CSV tables and PNG figures in one folder; mirror them to W&B."""

import json
import math
from pathlib import Path

import pandas as pd

from brainalign.analysis.markdown import fmt, md_table, p_text
from brainalign.analysis.properties import BENCHMARK_PROPERTIES, LABELS, PROPERTIES
from brainalign.plumbing.io import write_text


def write_tables(out: Path, tables: dict[str, pd.DataFrame]) -> dict[str, Path]:
    paths = {}
    for name, df in tables.items():
        path = out / f"{name}.csv"
        write_text(path, df.to_csv(index=not isinstance(df.index, pd.RangeIndex)))
        paths[name] = path
    return paths


def render(ctx: dict) -> str:
    """The Markdown report. `ctx` is what analysis.run assembled (tables, measures, sets, notes)."""
    col, wide = ctx["collected"], ctx["wide"]
    names = {Path(f).name for f in ctx["files"]}

    def img(*files):
        shown = [f"![{Path(f).stem}]({f})" for f in files if f in names]
        return [" ".join(shown), ""] if shown else []

    L = [f"# Brain and behavioral alignment: analysis of {ctx['results_dir']}", ""]
    L += headline_findings(ctx)
    L += [f"- Results read: {len(col.rows)} (models x datasets), {col.rows['model'].nunique() if len(col.rows) else 0} "
          f"models, {len(col.datasets)} dataset columns; failed runs without a result: {len(col.failures)}.",
          f"- Score: **{col.score}** Pearson r{' (the study reports raw r; Aw et al. 2024)' if col.score == 'raw' else ' / ceiling'}; "
          f"layer: **{col.layer}** ({'the best layer per model and dataset, as the study' if col.layer == 'best' else 'the layer each config commits (study_layer)'}).",
          f"- Brain average = mean over {', '.join(ctx['brain_columns']) or 'n/a'}"
          + (" (a model lacking one of them has no average)." if ctx['brain_columns'] else "."),
          f"- Behavioral measure: {', '.join(ctx['behavior_measures']) or 'none in these results'}.",
          f"- Properties: {ctx['properties_source']}.",
          "- Error bars: median absolute deviation (scipy, unscaled) over participants' scores at the chosen layer; "
          "n/a where a result holds no per-participant scores."]
    if len(col.chat):
        L.append(f"- Chat-template results (model.chat_template=user): {len(col.chat)}, kept apart: they enter only "
                 "the section \"Raw text vs the chat template\"; every other number is from raw text.")
    if col.excluded:
        L.append(f"- Excluded on request: {', '.join(col.excluded)}.")
    if col.warnings:
        L += ["", "## Warnings", ""] + [f"- {w}" for w in col.warnings]
    if len(col.failures):
        L += ["", "## Failed runs (no result; not in any number below)", "",
              md_table(col.failures[["model", "dataset", "metric", "error", "message"]], index=False)]
    L += ["", "## Datasets", "", md_table(col.datasets.drop(columns=["settings"], errors="ignore"))]

    # per-model scores
    show = wide[[c for c in ctx["measures"] if c in wide]].copy()
    for c in list(show.columns):
        if c in ctx["mad"]:
            show[f"{c} MAD"] = ctx["mad"][c]
    info = col.models[["family", "instruction_tuned", "pair", "params"]]
    L += ["", "## Alignment per model", "", md_table(info.join(show, how="right").sort_values(["family", "params"]))]
    L += img("alignment.png") + img("fig4_layers.png", "fig5_protocols.png")

    # instruction tuning
    s = ctx["pair_summary"]
    L += ["## Instruction-tuned vs vanilla pair", "",
          "Change = IT − vanilla; % = change / vanilla. Tests on the changes: Student's paired t-test "
          "(`scipy.stats.ttest_rel`) and the Wilcoxon signed-rank test (zeros dropped). They treat the model pairs "
          "as the independent units and generalise over model pairs (to other instruction-tuned / vanilla pairs "
          "like these), not over subjects or stimuli, which each pair's own comparison (below) does. Several IT "
          "models share a vanilla model, so the pairs are not independent: read these p as descriptive.", ""]
    if s.empty:
        L += ["_No instruction-tuned model has results for itself and its pair._", ""]
    else:
        cols = ["measure", "family", "n_pairs", "n_up", "n_tied", "n_down", "mean_delta", "mean_pct", "p_t", "p_wilcoxon"]
        L += [md_table(s[cols], index=False)]
        g = ctx["overall_gain"]
        L += [f"Overall gain (mean over brain datasets of the per-dataset mean % change, the study's +6.2% as "
              f"inferred from Aw et al. 2024's numbers): **{fmt(g, 2)}%**." if math.isfinite(g) else
              "Overall gain over brain datasets: n/a (not every brain dataset has pairs).", ""]
        per_pair = ctx["changes"].pivot(index=["model", "pair"], columns="measure", values="pct")
        per_pair = per_pair[[m for m in ctx["measures"] if m in per_pair]]
        L += ["Per pair (% change):", "", md_table(per_pair, digits=2)]
    if len(ctx["unpaired"]):
        L += ["Instruction-tuned models in no comparison:", "", md_table(ctx["unpaired"], index=False)]
    L += img("fig1b_pairs_brain.png", "fig1c_pairs_behavior.png")
    if "significance" in ctx:
        from brainalign.analysis import significance

        L += significance.render(ctx["significance"])
    if "chat_template" in ctx:
        from brainalign.analysis import chat

        L += chat.render(ctx["chat_template"], col)
    if ctx.get("perturbations") is not None:
        from brainalign.analysis import perturbations

        L += perturbations.render(*ctx["perturbations"], col)
    if "untrained" in ctx:   # controls: untrained architectures and checkpoints (docs/controls.md)
        from brainalign.analysis import trajectory, untrained

        L += untrained.render(ctx["untrained"], col) + trajectory.render(ctx["trajectory"], ctx["trajectory_figure"])

    # correlations
    corr = ctx["correlations"]
    L += ["## Correlations with model properties", "",
          "Pearson r, two-sided p; p(FDR) = Benjamini–Hochberg across the benchmark categories (MMLU and BBH, overall "
          "and per category) within a measure and model set. n = models with both numbers; the set's other models "
          "are listed as missing. All rows (every set, family and dataset) are in correlations.csv.", ""]
    for measure in ctx["headline_measures"]:
        rows = corr[(corr["measure"] == measure) & (corr["model_set"].isin(["instruction-tuned", "all"]))]
        rows = rows[(rows["n"] > 0) & ((rows["model_set"] == "instruction-tuned") | (rows["property"] == "log10_params"))]
        if rows.empty:
            continue
        t = rows.assign(property=rows["property"].map(lambda p: LABELS.get(p, p)),
                        p=rows["p"].map(p_text), p_fdr=rows["p_fdr"].map(p_text),
                        missing=rows["missing_property"].map(lambda m: m if m else ""))
        L += [f"### {measure}", "", md_table(t[["property", "model_set", "n", "r", "p", "p_fdr", "missing"]], index=False)]
    fam = corr[(corr["model_set"].str.startswith("instruction-tuned/")) & (corr["property"] == "nwp") & (corr["n"] > 0)
               & corr["measure"].isin(ctx["headline_measures"])]
    if len(fam):
        L += ["NWP loss within a family (the study: loss is not comparable across families):", "",
              md_table(fam.assign(p=fam["p"].map(p_text))[["measure", "model_set", "n", "r", "p"]], index=False)]
    per_ds = corr[corr["measure"].isin(ctx["brain_columns"] + ctx["behavior_measures"]) & (corr["model_set"] == "instruction-tuned")
                  & corr["property"].isin(["log10_params", "mmlu", "bbh", "nwp"]) & (corr["n"] > 0)]
    if len(per_ds):
        order = [m for m in ctx["measures"] if m in set(per_ds["measure"])]
        props_order = [p for p in ["log10_params", "mmlu", "bbh", "nwp"] if p in set(per_ds["property"])]
        t = per_ds.pivot(index="measure", columns="property", values="r").loc[order, props_order]
        n = per_ds.pivot(index="measure", columns="property", values="n").loc[order, props_order]
        L += ["Per dataset, instruction-tuned models (r; n in correlations.csv):", "",
              md_table(t.rename(columns=lambda c: f"r {c}").join(n.rename(columns=lambda c: f"n {c}")))]
    L += img("fig2_brain.png") + img("fig3_behavior.png")
    from brainalign.analysis.size_controls import report_lines

    L += report_lines(ctx)
    if "claims" in ctx:
        from brainalign.analysis import claims

        L += claims.render(*ctx["claims"])

    # properties
    props = ctx["properties"]
    present = props.reindex(wide.index)
    it_models = [m for m in wide.index if m in col.models.index and bool(col.models.loc[m, "instruction_tuned"])]
    L += ["## Properties", ""]
    absent = []
    for p in PROPERTIES:
        have = [m for m in wide.index if p in present and pd.notna(present.loc[m, p])]
        if not have:
            absent.append(p)
        else:
            lack = [m for m in it_models if m not in have]
            L.append(f"- {LABELS[p]}: {len(have)} models" + (f"; instruction-tuned models without it: {', '.join(lack)}" if lack else "")
                     + ("; vanilla models have none (the study scored IT models only)" if p in BENCHMARK_PROPERTIES + ('nwp',) else "") + ".")
    if absent:
        L.append(f"- **Not available** for any model here: {', '.join(LABELS[p] for p in absent)}. The study does not "
                 "tabulate per-category MMLU/BBH scores per model; compute them with `python -m "
                 "brainalign.analysis.properties` (lm-eval) and pass the file as --properties.")
    L += ["", "## Model sets", ""]
    for name, members in ctx["model_sets"].items():
        L.append(f"- **{name}** ({len(members)}): {', '.join(members)}")
    L += ["", "## Files", "", ", ".join(f"`{p.name}`" for p in ctx["files"]), ""]
    return "\n".join(L)


CLAIMS = [  # (the study's claim, its kind: "pairs" or a property to correlate with)
    ("Instruction tuning raises brain alignment (Aw et al. 2024: +6.2 % on average)", "brain", "pairs"),
    ("Instruction tuning does not raise behavioral alignment", "behavior", "pairs"),
    ("Brain alignment grows with model size", "brain", "log10_params"),
    ("Brain alignment grows with world knowledge (MMLU)", "brain", "mmlu"),
]


def headline_findings(ctx: dict) -> list[str]:
    """Each claim of the study beside this analysis' number, its 95 % interval and n (nothing where no number)."""
    from brainalign.analysis.figures import mean_interval

    measures = dict(zip(("brain", "behavior"), (None, None)))
    for m in ctx["headline_measures"]:
        measures["behavior" if m in ctx["behavior_measures"] else "brain"] = m
    changes, corr, lines = ctx["changes"], ctx["correlations"], []
    for claim, kind, what in CLAIMS:
        measure = measures[kind]
        if measure is None:
            continue
        if what == "pairs":
            pct = changes.loc[changes["measure"] == measure, "pct"]
            if len(pct) < 2:
                continue
            half = mean_interval(pct)
            lines.append(f"- {claim}. Here, {measure}: mean change **{pct.mean():+.1f} %** (95 % CI "
                         f"{pct.mean() - half:+.1f} to {pct.mean() + half:+.1f} %, n = {len(pct)} pairs"
                         f"{_protocol_text(ctx, measure)}).")
            continue
        hit = corr[(corr["measure"] == measure) & (corr["property"] == what)
                   & (corr["model_set"] == "instruction-tuned")]
        if hit.empty or not hit.iloc[0]["n"] >= 3 or not math.isfinite(hit.iloc[0]["r"]):
            continue
        r, n = float(hit.iloc[0]["r"]), int(hit.iloc[0]["n"])
        low, high = _r_interval(r, n)
        interval = f"95 % CI {low:+.2f} to {high:+.2f}, " if math.isfinite(low) else ""
        lines.append(f"- {claim}. Here, {measure} in instruction-tuned models: **r = {r:+.2f}** ({interval}"
                     f"p = {p_text(hit.iloc[0]['p'])}, n = {n}{_protocol_text(ctx, measure)}).")
    if not lines:
        return []
    score = ctx["collected"].score
    return ["## Headline findings", "", *lines, "",
            f"_Scores: {score} Pearson r at the best layer under each result's first protocol (metric.cv, named "
            "where the results say); "
            "pairs are not independent where IT models share a vanilla model._", ""]


def result_protocol(path) -> str | None:
    """The cross-validation protocol a result's scores come from: its first of metric.cv (None: no CV)."""
    r = json.loads(Path(path).read_text())
    if r.get("protocol"):
        return str(r["protocol"])
    cv = ((r.get("settings") or {}).get("metric") or {}).get("cv")
    return (cv if isinstance(cv, str) else (cv[0] if cv else None)) or None


def _protocol_text(ctx: dict, measure: str) -> str:
    """', protocol: shuffle' for the results behind a measure (a dataset or the brain average), '' when none."""
    rows = ctx["collected"].rows
    datasets = ctx["brain_columns"] if measure == "brain_average" else [measure]
    found = sorted({p for path in rows[rows["dataset"].isin(datasets)]["path"] if (p := result_protocol(path))})
    return f", protocol{'s' if len(found) > 1 else ''}: {', '.join(found)}" if found else ""


def _r_interval(r: float, n: int) -> tuple[float, float]:
    """95 % interval of a Pearson r (Fisher z); nan for n <= 3."""
    if n <= 3 or abs(r) >= 1:
        return math.nan, math.nan
    z, half = math.atanh(r), 1.959964 / math.sqrt(n - 3)
    return math.tanh(z - half), math.tanh(z + half)


def log_to_wandb(out: Path, tables: dict[str, pd.DataFrame], figures: list[Path], report: Path, summary: dict,
                 tracking: dict | None, sources=()):
    """Log tables, figures, the report (as an artifact) and headline numbers to W&B; the run uses the
    result artifact of each folder in `sources`, so W&B's lineage shows which runs the tables came from.

    Uses the active run if there is one, else starts one (job_type=analysis) with `tracking`
    ({mode, project, entity, group, tags}); mode disabled (the default) logs nothing.
    """
    import wandb

    tracking = dict(tracking or {})
    run, own = wandb.run, False
    if run is None:
        mode = tracking.get("mode") or "disabled"
        if mode == "disabled":
            return None
        from brainalign.plumbing.network import wandb_mode

        mode = wandb_mode(mode)
        run = wandb.init(project=tracking.get("project") or "brainalign", entity=tracking.get("entity"),
                         group=tracking.get("group"), tags=list(tracking.get("tags") or []), job_type="analysis",
                         name="analysis", dir=str(out), mode=mode, reinit="finish_previous",
                         config={"task": "analyze", **{k: v for k, v in summary.items() if k.startswith("setting/")}})
        own = True
    try:
        from brainalign.app.tracking import use_results

        use_results(run, sources)
        payload = {}
        for name, df in tables.items():
            d = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
            d = d.astype({c: str for c in d.columns if d[c].dtype == object})
            payload[f"tables/{name}"] = wandb.Table(dataframe=d)
        for fig in figures:
            payload[f"figures/{fig.stem}"] = wandb.Image(str(fig))
        run.log(payload)
        for k, v in summary.items():
            if not k.startswith("setting/"):
                run.summary[k] = v
        art = wandb.Artifact("analysis", type="analysis", description="report.md, CSV tables and figures")
        for f in [report, *figures, *(out / f"{n}.csv" for n in tables)]:
            if Path(f).exists():
                art.add_file(str(f))
        run.log_artifact(art)
        return run
    finally:
        if own:
            run.finish()


def summary_numbers(ctx: dict) -> dict:
    """Flat headline numbers (W&B summary, the return value, the tests)."""
    out = {}
    s = ctx["pair_summary"]
    for _, r in s[s["family"] == "all"].iterrows():
        out[f"pairs/{r['measure']}/mean_pct"] = r["mean_pct"]
        out[f"pairs/{r['measure']}/n_pairs"] = int(r["n_pairs"])
        out[f"pairs/{r['measure']}/p_t"] = r["p_t"]
        out[f"pairs/{r['measure']}/p_wilcoxon"] = r["p_wilcoxon"]
    out["pairs/overall_gain_pct"] = ctx["overall_gain"]
    corr = ctx["correlations"]
    for _, r in corr[corr["model_set"].isin(["instruction-tuned", "all"])].iterrows():
        if r["n"] >= 3:
            out[f"corr/{r['measure']}/{r['property']}/{r['model_set']}/r"] = r["r"]
            out[f"corr/{r['measure']}/{r['property']}/{r['model_set']}/p"] = r["p"]
            out[f"corr/{r['measure']}/{r['property']}/{r['model_set']}/n"] = int(r["n"])
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}


def dump_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, default=str))
