"""SyntaxGym prediction formulas: the grammar, its precedence, and suite accuracy."""

import json

import numpy as np
import pytest

from brainalign.errors import ConfigError, DataMismatch
from brainalign.metrics.syntaxgym import evaluate, item_results, parse_formula, suite_accuracy
from runif import run_if

S = {("match", 5): 3.0, ("mismatch", 5): 7.5, ("match", 6): 1.0, ("mismatch", 6): 2.0, ("other", 1): 4.0}


def test_region_reference_and_comparison():
    assert evaluate("(5;%mismatch%) > (5;%match%)", S)
    assert not evaluate("(5;%mismatch%) < (5;%match%)", S)
    assert parse_formula("(5;%mismatch%)")(S) == 7.5


def test_whitespace_inside_region_references_and_operators():
    assert evaluate("( 5 ;% mismatch %) >(5;%match%)  ", S)


def test_sum_and_difference_are_left_to_right():
    # (7.5 - 3) - 1 = 3.5, not 7.5 - (3 - 1) = 5.5
    assert parse_formula("(5;%mismatch%) - (5;%match%) - (6;%match%)")(S) == pytest.approx(3.5)
    assert parse_formula("(5;%mismatch%) - (5;%match%) + (6;%match%)")(S) == pytest.approx(5.5)


def test_arithmetic_binds_tighter_than_comparison_tighter_than_logic():
    # 7.5 + 2 > 3 + 1 & 1 < 2   parses as  ((7.5 + 2) > (3 + 1)) & (1 < 2)
    assert evaluate("(5;%mismatch%) + (6;%mismatch%) > (5;%match%) + (6;%match%) & (6;%match%) < (6;%mismatch%)", S)
    # a false first conjunct makes the whole & false
    assert not evaluate("(5;%match%) > (5;%mismatch%) & (6;%match%) < (6;%mismatch%)", S)
    assert evaluate("(5;%match%) > (5;%mismatch%) | (6;%match%) < (6;%mismatch%)", S)


def test_nested_parentheses_change_grouping():
    # (7.5 - 3) - (2 - 1) = 3.5 > 3
    assert evaluate("((5;%mismatch%) - (5;%match%)) - ((6;%mismatch%) - (6;%match%)) > 3", S)
    assert evaluate("(((5;%mismatch%)-(5;%match%))+(((6;%mismatch%))-(6;%match%)))>5", S)
    assert not evaluate("(((5;%mismatch%)-(5;%match%))+(((6;%mismatch%))-(6;%match%)))>5.6", S)


def test_and_or_are_one_level_left_to_right():
    # SyntaxGym chains & and | at one precedence level: (F & F) | T = T, whereas F & (F | T) = F
    f, t = "(5;%match%) > 10", "(5;%match%) < 10"
    assert evaluate(f"{f} & {f} | {t}", S)
    assert not evaluate(f"{f} & ({f} | {t})", S)


def test_equality_uses_syntaxgym_tolerance():
    s = {("a", 1): 10.0, ("b", 1): 10.0009, ("c", 1): 10.01}
    assert evaluate("(1;%a%) = (1;%b%)", s)
    assert not evaluate("(1;%a%) = (1;%c%)", s)


def test_wildcard_sums_every_region_of_a_condition():
    assert parse_formula("(*;%match%)")(S) == pytest.approx(4.0)
    assert evaluate("(*;%mismatch%) > (*;%match%)", S)


def test_number_literals_and_signs():
    assert evaluate("(5;%mismatch%) - (5;%match%) > 4.4", S)
    assert evaluate("(5;%match%) - (5;%mismatch%) > -4.6", S)
    assert parse_formula("(5;%match%) -3")(S) == 0.0
    assert evaluate("(6;%match%) < 1e1", S)


@pytest.mark.parametrize("bad", ["", "(5;%match%) >", "(5;%match%) > (5;%mismatch%))", "((5;%match%) > 1",
                                 "(5;match) > 1", "(5;%match%) >> 1", "(5;%ma tch%) > 1", "(5;%match%) 1"])
def test_invalid_formulas_give_one_line_config_errors(bad):
    with pytest.raises(ConfigError, match="invalid prediction formula"):
        parse_formula(bad)


def test_chained_comparison_is_refused_not_silently_truncated():
    with pytest.raises(ConfigError, match="chained"):
        parse_formula("(5;%match%) < (6;%match%) < 10")


def test_a_missing_region_names_it():
    with pytest.raises(DataMismatch, match="region 9 of condition 'match'"):
        evaluate("(9;%match%) > 1", S)


def test_suite_accuracy_is_the_fraction_of_items_where_all_predictions_hold():
    formulas = ["(1;%a%) > (1;%b%)", "(2;%a%) < (2;%b%)"]
    items = [{("a", 1): 2, ("b", 1): 1, ("a", 2): 1, ("b", 2): 2},   # both hold
             {("a", 1): 2, ("b", 1): 1, ("a", 2): 3, ("b", 2): 2},   # second fails
             {("a", 1): 0, ("b", 1): 1, ("a", 2): 1, ("b", 2): 2},   # first fails
             {("a", 1): 5, ("b", 1): 1, ("a", 2): 0, ("b", 2): 2}]   # both hold
    assert item_results(formulas, items).tolist() == [[True, True], [True, False], [False, True], [True, True]]
    assert suite_accuracy(formulas, items) == 0.5


@run_if(shared="data/syntaxgym")
def test_every_formula_of_the_2020_suites_parses(shared_data):
    files = sorted((shared_data / "syntaxgym").glob("*.json"))
    n = 0
    for f in files:
        suite = json.loads(f.read_text())
        item = suite["items"][0]
        surprisals = {(c["condition_name"], r["region_number"]): float(np.random.default_rng(n).random())
                      for c in item["conditions"] for r in c["regions"]}
        for p in suite["predictions"]:
            node = parse_formula(p["formula"])
            assert isinstance(node(surprisals), (bool, np.bool_)), p["formula"]
            n += 1
    assert len(files) == 31 and n == 32  # fgd_hierarchy has two predictions
