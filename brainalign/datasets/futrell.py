"""Futrell2018: self-paced reading times on the 10 Natural Stories (10,256 words), for behavioural alignment.

Three ways to get it, all giving the same `ReadingData`:
- `brainscore`: Brain-Score's `Futrell2018` assembly (netCDF, words x 180 subjects, NaN where a
  subject did not read a story), downloaded into the cache or read from a local `.nc` path.
- `naturalstories`: files of the public Natural Stories release -- `all_stories.tok` (the stimulus
  as presented) plus per-subject RTs (`processed_RTs.tsv`, long format) and/or per-word means
  (`processed_wordinfo.tsv`) -- from a local folder, or downloaded into the cache.
- `auto`: `path` if given (e.g. the release folder `../shared/data/futrell2018`, the way to run
  offline), else the Brain-Score assembly.

Words are in story order (story, zone). Sentences are cut with Brain-Score's heuristic
(`sentence_ids`), which the score needs to drop sentence-initial words.
"""

import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.datasets import store
from brainalign.errors import ConfigError, DataMismatch, DataUnavailable

log = logging.getLogger(__name__)

STORE_URL = "https://brainscore-storage.s3.amazonaws.com/brainscore-language/assy_Futrell2018.nc"
STORE_SHA1 = "381ccc8038fbdb31235b5f3e1d350f359b5e287f"
RELEASE_URL = ("https://raw.githubusercontent.com/languageMIT/naturalstories/"
               "4700daad696e942f5aba23c957a7423d0de66612/naturalstories_RTS/")
# SHA-1 of the release files at that commit; processed_RTs.tsv (>4 MiB) was never checked offline.
RELEASE_FILES = {"all_stories.tok": "082deaf6e7c615ebf1215ffb895b274377fc6076",
                 "processed_wordinfo.tsv": "ec86d0957c8c4ce5834f88e82bb366d732975142",
                 "processed_RTs.tsv": None}
SENTENCE_END = (".", "?", "!", ".'", "?'", "!'", ";'")
WORD_COLUMNS = ["stimulus_id", "word", "word_core", "story_id", "word_id", "sentence_id", "word_within_sentence_id"]
# per-subject files, best first; the batch-2 file covers stories 6-10 only (see shared PROVENANCE.md)
SUBJECT_FILES = ("processed_RTs.tsv", "processed_RTs.tsv.gz", "processed_RTs.csv", "batch2_processed_RTs.tsv.gz")


@dataclass
class SubjectRTs:
    """Per-subject reading times (ms) for some of the words: `values[k, j]` is word `rows[k]`, subject j."""

    values: np.ndarray
    rows: np.ndarray
    subjects: list
    description: str


@dataclass
class ReadingData:
    name: str
    words: pd.DataFrame  # WORD_COLUMNS, in story order
    mean_rt: np.ndarray  # [n_words] mean over subjects (ms), NaN where nobody has an RT
    per_subject: SubjectRTs | None
    source: str
    synthetic: bool = False

    def __len__(self):
        return len(self.words)

    def subset(self, stories=None, max_words=None) -> "ReadingData":
        """Only these stories (story ids) and/or the first `max_words` words, keeping ids and sentences."""
        keep = np.ones(len(self.words), dtype=bool)
        if stories is not None:
            unknown = sorted(set(stories) - set(self.words.story_id))
            if unknown:
                raise ConfigError(f"{self.name}: no stories {unknown}; it has {sorted(set(self.words.story_id))}")
            keep &= self.words.story_id.isin(list(stories)).to_numpy()
        if max_words is not None:
            keep &= np.cumsum(keep) <= int(max_words)
        index = np.flatnonzero(keep)
        per_subject = None
        if self.per_subject is not None:
            new_row = np.full(len(self.words), -1)
            new_row[index] = np.arange(len(index))
            mapped = new_row[self.per_subject.rows]
            inside = mapped >= 0
            if inside.any():
                values = self.per_subject.values[inside]
                has = ~np.isnan(values).all(axis=0)
                subjects = [s for s, h in zip(self.per_subject.subjects, has) if h]
                per_subject = SubjectRTs(values[:, has], mapped[inside], subjects, self.per_subject.description)
        return replace(self, words=self.words.iloc[index].reset_index(drop=True), mean_rt=self.mean_rt[index],
                       per_subject=per_subject)


def sentence_ids(words) -> tuple[np.ndarray, np.ndarray]:
    """Brain-Score's heuristic: a word ending in . ? ! .' ?' !' ;' ends a sentence unless the next
    word is all lower-case (`str.islower`) or the word is "Mr.".
    Returns (sentence_id, word_within_sentence_id), both 1-based.
    """
    words = list(words)
    sentence, within = np.zeros(len(words), dtype=np.int64), np.zeros(len(words), dtype=np.int64)
    current, position = 1, 0
    for i, word in enumerate(words):
        position += 1
        sentence[i], within[i] = current, position
        if word.endswith(SENTENCE_END):
            last = i + 1 == len(words)
            if last or not (words[i + 1].islower() or word == "Mr."):
                position = 0
                current += 0 if last else 1
    return sentence, within


def word_table(words, story_id, word_id) -> pd.DataFrame:
    """The presentation table Brain-Score builds, from words in story order."""
    words = [str(w) for w in words]
    sentence, within = sentence_ids(words)
    return pd.DataFrame({
        "stimulus_id": np.arange(1, len(words) + 1),
        "word": words,
        "word_core": [re.sub(r"[^\w\s]", "", w) for w in words],
        "story_id": np.asarray(story_id, dtype=np.int64),
        "word_id": np.asarray(word_id, dtype=np.int64),
        "sentence_id": sentence,
        "word_within_sentence_id": within,
    })


def _read_table(path) -> pd.DataFrame:
    path = Path(path)
    sep = "," if ".csv" in path.name else "\t"
    try:
        return pd.read_csv(path, sep=sep, quoting=3, keep_default_na=False, na_values=[""], dtype={"word": str})
    except (OSError, ValueError) as e:
        raise DataMismatch(f"cannot read {path} as a {'CSV' if sep == ',' else 'TSV'} table: {e}") from e


def _require(table, columns, path):
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataMismatch(f"{path} lacks the column(s) {missing}; it has {list(table.columns)}")


def read_stories(path) -> pd.DataFrame:
    """`all_stories.tok` (columns word, zone, item) as the word table, sorted by (story, zone)."""
    table = _read_table(path)
    _require(table, ["word", "zone", "item"], path)
    table = table.sort_values(["item", "zone"], kind="stable")
    if table.duplicated(["item", "zone"]).any():
        dup = table[table.duplicated(["item", "zone"])].iloc[0]
        raise DataMismatch(f"{path}: story {dup['item']} zone {dup['zone']} appears twice")
    return word_table(table.word.fillna(""), table.item, table.zone)


def _row_index(words: pd.DataFrame, table: pd.DataFrame, path) -> np.ndarray:
    """Row of `words` for each (item, zone) of `table`; a clear error for keys or words that disagree."""
    where = pd.Series(np.arange(len(words)), index=pd.MultiIndex.from_arrays([words.story_id, words.word_id]))
    keys = pd.MultiIndex.from_arrays([table["item"].astype(np.int64), table["zone"].astype(np.int64)])
    rows = where.reindex(keys).to_numpy()
    unknown = np.isnan(rows)
    if unknown.any():
        first = keys[np.flatnonzero(unknown)[:3]].tolist()
        raise DataMismatch(f"{path}: {int(unknown.sum())} row(s) name (story, zone) pairs that are not in the "
                           f"word list, first {first}; the word list has {len(words)} words in stories "
                           f"{sorted(set(words.story_id))}")
    rows = rows.astype(np.int64)
    if "word" in table.columns:
        theirs = table["word"].astype(str).to_numpy()
        ours = words.word.to_numpy()[rows]
        differ = np.flatnonzero(theirs != ours)
        if len(differ):
            k = differ[0]
            raise DataMismatch(f"{path}: {len(differ)} row(s) disagree with the word list, first at story "
                               f"{keys[k][0]} zone {keys[k][1]}: the word list has {ours[k]!r}, the file has "
                               f"{theirs[k]!r} (different alignment or release?)")
    return rows


def read_word_means(path, words: pd.DataFrame) -> np.ndarray:
    """Per-word mean RT from `processed_wordinfo.tsv` (meanItemRT), aligned on (story, zone); NaN where absent."""
    table = _read_table(path)
    _require(table, ["item", "zone", "meanItemRT"], path)
    rows = _row_index(words, table, path)
    mean = np.full(len(words), np.nan)
    mean[rows] = pd.to_numeric(table.meanItemRT, errors="coerce").to_numpy(dtype=np.float64)
    return mean


def read_subject_rts(path, words: pd.DataFrame) -> SubjectRTs:
    """A long per-subject table (WorkerId, item, zone, RT[, word]) as a words x subjects matrix."""
    table = _read_table(path)
    _require(table, ["WorkerId", "item", "zone", "RT"], path)
    rows = _row_index(words, table, path)
    subjects, column = np.unique(table.WorkerId.astype(str).to_numpy(), return_inverse=True)
    used, row = np.unique(rows, return_inverse=True)
    values = np.full((len(used), len(subjects)), np.nan)
    values[row, column] = pd.to_numeric(table.RT, errors="coerce").to_numpy(dtype=np.float64)
    stories = sorted(set(words.story_id.to_numpy()[used]))
    return SubjectRTs(values, used, list(subjects), f"{Path(path).name}: {len(subjects)} subjects, "
                      f"{len(used)} words, stories {stories[0]}-{stories[-1]}" if stories else Path(path).name)


def load_assembly(path) -> ReadingData:
    """Brain-Score's `Futrell2018` netCDF assembly (dims presentation x subject)."""
    import xarray as xr

    path = Path(path)
    if not path.exists():
        raise DataUnavailable(f"Futrell2018: no file at {path}")
    try:
        with xr.open_dataarray(path) as stored:
            assembly = stored.load()
    except (ValueError, OSError) as e:
        raise DataMismatch(f"Futrell2018: cannot read {path} as a Brain-Score assembly: {e}") from e
    if set(assembly.dims) != {"presentation", "subject"}:
        raise DataMismatch(f"Futrell2018: {path} has dims {assembly.dims}, expected (presentation, subject)")
    assembly = assembly.transpose("presentation", "subject")
    coords = {name: c.values for name, c in assembly.coords.items() if c.dims == ("presentation",)}
    missing = [c for c in ("word", "story_id", "word_id") if c not in coords]
    if missing:
        raise DataMismatch(f"Futrell2018: {path} lacks the presentation coordinate(s) {missing}")
    order = np.lexsort((coords["word_id"], coords["story_id"]))
    words = word_table(coords["word"][order], coords["story_id"][order], coords["word_id"][order])
    for name in ("stimulus_id", "sentence_id", "word_within_sentence_id"):
        if name in coords:  # keep Brain-Score's own ids where the file has them
            words[name] = np.asarray(coords[name])[order].astype(np.int64)
    values = np.asarray(assembly.values, dtype=np.float64)[order]
    subjects = [str(s) for s in assembly.coords["subject_id"].values] if "subject_id" in assembly.coords \
        else [str(j) for j in range(values.shape[1])]
    per_subject = SubjectRTs(values, np.arange(len(words)), subjects,
                             f"{path.name}: {len(subjects)} subjects, all {len(words)} words")
    synthetic = bool(int(assembly.attrs.get("synthetic", 0)))
    return ReadingData("Futrell2018", words, _nanmean_rows(values), per_subject, f"brainscore:{path}", synthetic)


def _nanmean_rows(values) -> np.ndarray:
    counts = (~np.isnan(values)).sum(axis=1)
    sums = np.nansum(values, axis=1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def load_naturalstories(stories, word_means=None, subject_rts=None) -> ReadingData:
    """Natural Stories release files: `all_stories.tok`, and per-word means and/or per-subject RTs.

    The mean RT per word comes from the per-subject table when it covers every word (as Brain-Score
    averages its assembly), else from `processed_wordinfo.tsv`.
    """
    words = read_stories(stories)
    per_subject = read_subject_rts(subject_rts, words) if subject_rts else None
    if per_subject is not None and len(per_subject.rows) == len(words):
        mean, how = _nanmean_rows(per_subject.values), Path(subject_rts).name
    elif word_means:
        mean, how = read_word_means(word_means, words), Path(word_means).name
    else:
        raise DataUnavailable("Natural Stories: no per-word mean RTs: give processed_wordinfo.tsv, or a "
                              "per-subject processed_RTs.tsv that covers all stories")
    source = f"naturalstories: {Path(stories).name}, mean RT from {how}"
    return ReadingData("Futrell2018", words, mean, per_subject, source)


def _find(folder: Path, names) -> Path | None:
    for name in names:
        hits = sorted(folder.glob(name)) + sorted(folder.glob(f"*/{name}"))
        if hits:
            return hits[0]
    return None


def load_folder(folder) -> ReadingData:
    """A folder with Natural Stories release files (any depth up to one subfolder)."""
    folder = Path(folder)
    stories = _find(folder, ["all_stories.tok"])
    if stories is None:
        raise DataUnavailable(f"Natural Stories: no all_stories.tok in {folder} (or one folder below)")
    return load_naturalstories(stories, _find(folder, ["processed_wordinfo.tsv", "processed_wordinfo.tsv.gz"]),
                               _find(folder, SUBJECT_FILES))


def _fetch(url, sha1, cache_dir, filename) -> Path:
    return store.fetch(url, sha1, cache_dir, filename)


def download_release(cache_dir=None, base_url=RELEASE_URL, per_subject=True) -> Path:
    """Download the Natural Stories release files into `<cache_dir>/naturalstories/`; returns that folder."""
    folder = Path(cache_dir or store.default_cache_dir()) / "naturalstories"
    for name, sha1 in RELEASE_FILES.items():
        if name != "processed_RTs.tsv":
            _fetch(base_url + name, sha1, folder, name)
        elif per_subject:
            try:
                _fetch(base_url + name, sha1, folder, name)
            except DataUnavailable as e:  # the means suffice for the score; the ceiling falls back
                log.warning("no per-subject reading times (%s); the stored ceiling will be used", e)
    return folder


def load_futrell(cfg=None, cache_dir=None) -> ReadingData:
    """The data a `conf/dataset/futrell.yaml` describes (source, path, stories, max_words): `path` when
    set, else Brain-Score's assembly (source=auto|brainscore) or the release files (naturalstories)."""
    from brainalign.config import dataset_config

    cfg = dataset_config(cfg, "futrell")
    source, path = cfg.source, cfg.path
    if source not in ("auto", "brainscore", "naturalstories"):
        raise ConfigError(f"dataset.source={source!r}; choose auto, brainscore or naturalstories")
    if path:
        path = Path(os.path.expanduser(str(path)))
        if not path.exists():
            raise DataUnavailable(f"dataset.path={path} does not exist")
        if path.is_dir():
            data = load_folder(path)
        elif path.suffix == ".nc":
            data = load_assembly(path)
        else:  # all_stories.tok itself, with the RT files named separately
            data = load_naturalstories(path, cfg.word_means, cfg.subject_rts)
    elif source == "naturalstories":
        data = load_folder(download_release(cache_dir, cfg.release_url or RELEASE_URL))
    else:
        data = load_assembly(_fetch(cfg.url or STORE_URL, cfg.sha1 or STORE_SHA1, cache_dir, "assy_Futrell2018.nc"))
    if cfg.stories is not None or cfg.max_words is not None:
        data = data.subset(cfg.stories, cfg.max_words)
    log.info("Futrell2018: %d words from %s; per-subject RTs: %s", len(data), data.source,
             data.per_subject.description if data.per_subject else "none")
    return data
