"""Markdown pieces of the report: numbers, p-values and tables that stay one row per line."""

import math

import pandas as pd

from brainalign.analysis.correlations import stars


def fmt(x, digits=3) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        if math.isnan(x):
            return "n/a"
        if x != 0 and (abs(x) < 10 ** -digits or abs(x) >= 1e5):
            return f"{x:.2e}"
        return f"{x:.{digits}f}"
    return str(x)


def md_table(df: pd.DataFrame, digits=3, index=True) -> str:
    if df.empty:
        return "_(none)_\n"
    d = df.reset_index() if index else df
    head = "| " + " | ".join(str(c) for c in d.columns) + " |"
    sep = "|" + "|".join("---" for _ in d.columns) + "|"
    body = ["| " + " | ".join(_cell(fmt(v, digits)) for v in row) + " |" for row in d.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"


def _cell(text: str) -> str:
    """One table cell: a multi-line message becomes one line, a `|` cannot split the row."""
    return " ".join(str(text).split()).replace("|", "/")


def p_text(p) -> str:
    return "n/a" if p is None or not math.isfinite(p) else f"{p:.2g} {stars(p)}"
