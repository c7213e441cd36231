"""SyntaxGym prediction formulas: parse, evaluate on region surprisals, score a suite.

A suite (Hu et al. 2020; Gauthier et al. 2020) states its predictions as formulas over region
surprisals, e.g. `((5;%mismatch%) > (5;%match%)) & ((6;%a%) + (7;%a%) < 10)`. `(5;%mismatch%)` is
the surprisal of region 5 in condition `mismatch`; `(*;%c%)` is the sum over all regions of `c`.
The grammar and its precedence are SyntaxGym's (syntaxgym-core, as Brain-Score 2.3 ships it):

    atom        := region | number | "(" expr ")"
    sum         := atom (("+" | "-") atom)*            left to right
    comparison  := sum (("<" | ">" | "=") sum)?        "=" is isclose(rtol=1e-5, atol=1e-3)
    expr        := comparison (("&" | "|") comparison)*  left to right, one precedence level

SyntaxGym's parser silently keeps only the first comparison of a chain like `a < b < c`; we refuse
such a formula instead (no 2020 suite has one).

An item passes when all of the suite's predictions hold; the suite's accuracy is the fraction of
items that pass (Brain-Score's `syntaxgym-<suite>`), and SyntaxGym-2020's score is the unweighted
mean over suites.
"""

import re
from dataclasses import dataclass

import numpy as np

from brainalign.errors import ConfigError, DataMismatch

EQUALITY_RTOL, EQUALITY_ATOL = 1e-5, 1e-3  # SyntaxGym's tolerances for "="

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<region>\(\s*(?P<number>\d+|\*)\s*;%\s*(?P<condition>[A-Za-z0-9_-]+)\s*%\s*\))
  | (?P<float>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<op>[-+<>=&|()])
""", re.VERBOSE)


@dataclass(frozen=True)
class Region:
    number: str  # "5" or "*"
    condition: str

    def __call__(self, surprisals: dict):
        if self.number == "*":
            return sum(v for (c, _), v in surprisals.items() if c == self.condition)
        key = (self.condition, int(self.number))
        if key not in surprisals:
            raise DataMismatch(f"the formula refers to region {self.number} of condition {self.condition!r}, "
                               "which this item does not have")
        return surprisals[key]

    def __str__(self):
        return f"({self.number};%{self.condition}%)"


@dataclass(frozen=True)
class Number:
    value: float

    def __call__(self, surprisals):
        return self.value

    def __str__(self):
        return repr(self.value)


@dataclass(frozen=True)
class Op:
    op: str
    left: object
    right: object

    def __call__(self, s):
        a = self.left(s)
        if self.op == "&":  # Python's and/or, as SyntaxGym evaluates them
            return a and self.right(s)
        if self.op == "|":
            return a or self.right(s)
        b = self.right(s)
        if self.op == "+":
            return a + b
        if self.op == "-":
            return a - b
        if self.op == "<":
            return a < b
        if self.op == ">":
            return a > b
        return bool(np.isclose(a, b, rtol=EQUALITY_RTOL, atol=EQUALITY_ATOL))

    def __str__(self):
        return f"({self.left} {self.op} {self.right})"

    def regions(self):
        out = set()
        for side in (self.left, self.right):
            out |= side.regions() if isinstance(side, Op) else ({side} if isinstance(side, Region) else set())
        return out


def _tokens(text: str) -> list:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ConfigError(f"invalid prediction formula {text!r}: cannot read {text[pos:pos + 20]!r}")
        pos = m.end()
        if m.lastgroup == "space":
            continue
        if m.group("region"):
            out.append(Region(m.group("number"), m.group("condition")))
        elif m.lastgroup == "float":
            out.append(Number(float(m.group("float"))))
        else:
            out.append(m.group("op"))
    return out


class _Parser:
    def __init__(self, text):
        self.text, self.toks, self.i = text, _tokens(text), 0

    def fail(self, why):
        raise ConfigError(f"invalid prediction formula {self.text!r}: {why}")

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def at(self, ops: str) -> bool:
        tok = self.peek()
        return isinstance(tok, str) and tok in ops

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def atom(self):
        tok = self.take()
        if isinstance(tok, (Region, Number)):
            return tok
        if tok == "(":
            node = self.expr()
            if self.take() != ")":
                self.fail("a '(' is not closed")
            return node
        # a signed number after an operator, e.g. `x - -3` or `x > -2`
        if isinstance(tok, str) and tok in "+-" and isinstance(self.peek(), Number):
            num = self.take()
            return Number(num.value if tok == "+" else -num.value)
        self.fail(f"expected a region, a number or '(' but found {tok!r}" if tok else "it ends too early")

    def binary(self, operand, ops, chain=True):
        node = operand()
        while self.at(ops):
            op = self.take()
            node = Op(op, node, operand())
            if not chain and self.at(ops):
                self.fail("chained comparisons (a < b < c) are ambiguous; use & between two comparisons")
        return node

    def expr(self):
        return self.binary(lambda: self.binary(lambda: self.binary(self.atom, "+-"), "<>=", chain=False), "&|")

    def parse(self):
        if not self.toks:
            self.fail("it is empty")
        node = self.expr()
        if self.peek() is not None:
            self.fail(f"unexpected {self.peek()!r} after a complete formula")
        return node


def parse_formula(text: str):
    """The formula as a callable: `parse_formula(f)(surprisals)` with surprisals {(condition, region): bits}."""
    return _Parser(text).parse()


def evaluate(formula, surprisals: dict) -> bool:
    """Whether `formula` (text or parsed) holds for one item's region surprisals."""
    node = parse_formula(formula) if isinstance(formula, str) else formula
    return bool(node(surprisals))


def item_results(formulas, items: list[dict]) -> np.ndarray:
    """[items, predictions] booleans; `items` are dicts {(condition, region_number): bits}."""
    parsed = [parse_formula(f) if isinstance(f, str) else f for f in formulas]
    return np.array([[bool(p(item)) for p in parsed] for item in items], dtype=bool).reshape(len(items), len(parsed))


def suite_accuracy(formulas, items: list[dict]) -> float:
    """Fraction of items for which every prediction holds (Brain-Score's per-suite accuracy)."""
    results = item_results(formulas, items)
    return float(results.all(axis=1).mean()) if len(items) else float("nan")
