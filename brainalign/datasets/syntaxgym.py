"""SyntaxGym test suites (Hu, Gauthier, Qian, Wilcox & Levy 2020; Gauthier et al. 2020).

A suite is one JSON file: `meta` (name, metric), `region_meta` (region number -> name), `items`
(each with `conditions`, each condition a list of numbered `regions` of text) and `predictions`
(formulas over region surprisals, see brainalign/metrics/syntaxgym.py). The 31 suites of 2020 are
the ones Brain-Score 2.3 scores as `SyntaxGym-2020` (cpllab/syntactic-generalization at commit
6dda3024ef0454f3c7c02a31b42c162854ca2445, `test_suites/json/`).

Where the files come from: the folder `dataset.path`, else the suites inside an installed
`brainscore_language` package.
"""

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from brainalign.errors import ConfigError, DataMismatch, DataUnavailable

SUITES_2020 = (
    "center_embed", "center_embed_mod", "cleft", "cleft_modifier", "fgd_hierarchy", "fgd_object", "fgd_pp",
    "fgd_subject", "mvrr", "mvrr_mod", "npi_orc_any", "npi_orc_ever", "npi_src_any", "npi_src_ever", "npz_ambig",
    "npz_ambig_mod", "npz_obj", "npz_obj_mod", "number_orc", "number_prep", "number_src", "reflexive_orc_fem",
    "reflexive_orc_masc", "reflexive_prep_fem", "reflexive_prep_masc", "reflexive_src_fem", "reflexive_src_masc",
    "subordination", "subordination_orc-orc", "subordination_pp-pp", "subordination_src-src")
SOURCE_URL = ("https://github.com/cpllab/syntactic-generalization/tree/"
              "6dda3024ef0454f3c7c02a31b42c162854ca2445/test_suites/json")


@dataclass
class Suite:
    """One test suite. `sentences[item][condition]` is that condition's list of region texts."""

    name: str
    region_names: list[str]
    condition_names: list[str]
    item_numbers: list
    sentences: list[dict[str, list[str]]]
    predictions: list[str]
    metric: str
    sha1: str
    file: str

    @property
    def n_items(self) -> int:
        return len(self.sentences)


def suite_from_dict(d: dict, name: str | None = None, sha1: str = "", file: str = "") -> Suite:
    """A Suite from the JSON structure; a malformed file raises DataMismatch naming what is wrong."""
    try:
        meta, items, predictions = d["meta"], d["items"], d["predictions"]
        region_names = [n for _, n in sorted((int(k), v) for k, v in d["region_meta"].items())]
        conditions = [c["condition_name"] for c in items[0]["conditions"]]
        sentences = [{c["condition_name"]: [r["content"] for r in c["regions"]] for c in item["conditions"]}
                     for item in items]
        formulas = []
        for p in predictions:
            if p.get("type", "formula") != "formula":
                raise DataMismatch(f"suite {name or meta.get('name')}: unknown prediction type {p.get('type')!r}")
            formulas.append(p["formula"])
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise DataMismatch(f"suite {file or name}: not a SyntaxGym suite JSON ({type(e).__name__}: {e})") from None
    for i, item in enumerate(sentences):
        short = {c: len(r) for c, r in item.items() if len(r) != len(region_names)}
        if short:
            raise DataMismatch(f"suite {name or meta.get('name')}, item {i}: conditions {short} do not have "
                               f"the {len(region_names)} regions of region_meta")
    return Suite(name=name or str(meta.get("name")), region_names=region_names, condition_names=conditions,
                 item_numbers=[item.get("item_number", i + 1) for i, item in enumerate(items)],
                 sentences=sentences, predictions=formulas, metric=str(meta.get("metric", "sum")),
                 sha1=sha1, file=file)


def load_suite(path) -> Suite:
    path = Path(path)
    raw = path.read_bytes()
    try:
        d = json.loads(raw)
    except ValueError as e:
        raise DataMismatch(f"{path} is not valid JSON: {e}") from None
    return suite_from_dict(d, name=path.stem, sha1=hashlib.sha1(raw).hexdigest(), file=str(path))


def candidate_dirs(path=None) -> list[Path]:
    if path:
        return [Path(os.path.expanduser(str(path)))]
    dirs = []
    spec = importlib.util.find_spec("brainscore_language")
    if spec is not None and spec.submodule_search_locations:
        dirs.append(Path(list(spec.submodule_search_locations)[0]) / "benchmarks" / "syntaxgym" / "suites"
                    / "syntaxgym-2020")
    return dirs


def suites_dir(path=None) -> Path:
    """The folder holding the suite files, or DataUnavailable saying where to get them."""
    dirs = candidate_dirs(path)
    for d in dirs:
        if d.is_dir() and any(d.glob("*.json")):
            return d
    if path:
        raise DataUnavailable(f"dataset.path={path}: no SyntaxGym suite files (*.json) there")
    where = (f"looked in {', '.join(map(str, dirs))}" if dirs
             else "dataset.path is unset, brainscore-language not installed")
    raise DataUnavailable(f"no SyntaxGym suites found ({where}). "
                          f"Download the 2020 suites ({SOURCE_URL}, or brainscore-language 2.3's "
                          "benchmarks/syntaxgym/suites/syntaxgym-2020) and set dataset.path=/that/folder")


def load_suites(path=None, names=None, max_items: int | None = None) -> list[Suite]:
    """The suites named in `names` (default: the 31 of 2020, or every *.json of a user's folder);
    `max_items` keeps the first items of each (quick runs)."""
    folder = suites_dir(path)
    available = sorted(p.stem for p in folder.glob("*.json"))
    if names is None:
        names = [n for n in SUITES_2020 if n in available] if set(SUITES_2020) <= set(available) else available
    names = [str(n) for n in names]
    if not names:
        raise ConfigError("dataset.suites is empty; name at least one suite")
    missing = [n for n in names if n not in available]
    if missing:
        raise ConfigError(f"dataset.suites: {missing} not in {folder}; available: {', '.join(available)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"dataset.suites names a suite twice: {names}")
    suites = [load_suite(folder / f"{n}.json") for n in names]
    if max_items is not None:
        if int(max_items) < 1:
            raise ConfigError(f"dataset.max_items={max_items}; give a positive number or null")
        for s in suites:
            s.sentences, s.item_numbers = s.sentences[:int(max_items)], s.item_numbers[:int(max_items)]
    return suites
