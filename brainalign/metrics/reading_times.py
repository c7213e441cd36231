"""Behavioural alignment with reading times: Brain-Score's `Futrell2018-pearsonr` score and ceiling.

    score = reading_time_alignment(surprisal, reading_times, word_within_sentence_id)
    score.raw, score.rvalue, score.pvalue

Score (Brain-Score's Futrell2018-pearsonr): drop sentence-initial words (`word_within_sentence_id == 1`), average the reading
times over subjects skipping NaN, and take |Pearson r| (scipy) between the model's per-word values
and that mean; the signed r and its p-value are kept. No fitting, no log transform.
Ceiling (Brain-Score's split-half ceiling): split the subjects in half 10 times (RandomState(0)), correlate the two halves'
mean RTs over all words, Spearman-Brown correct, take the median.
"""

from dataclasses import dataclass, field

import numpy as np

from brainalign.errors import DataMismatch


@dataclass
class ReadingTimeScore:
    raw: float  # |r|
    rvalue: float  # signed Pearson r
    pvalue: float
    n_words: int  # words that entered the correlation
    excluded: dict = field(default_factory=dict)  # why the other words were left out, with counts

    def __float__(self):
        return float(self.raw)


@dataclass
class SplitHalfCeiling:
    value: float  # median of the Spearman-Brown corrected consistencies
    corrected: list
    uncorrected: list
    n_words: int  # words in the correlation (both halves have an RT)
    n_subjects: int


def _check_length(name, values, n, what="words"):
    if len(values) != n:
        raise DataMismatch(f"{name} has {len(values)} {what} but the word_within_sentence_id has {n}: "
                           "the model's words and the reading-time table do not line up")


def mean_reading_times(reading_times) -> np.ndarray:
    """Per-word mean over subjects, skipping NaN: a 1-D input is taken as already averaged."""
    rts = np.asarray(reading_times, dtype=np.float64)
    if rts.ndim == 1:
        return rts
    if rts.ndim != 2:
        raise DataMismatch(f"reading_times must be [words] or [words, subjects], not shape {rts.shape}")
    counts = (~np.isnan(rts)).sum(axis=1)
    return np.where(counts > 0, np.nansum(rts, axis=1) / np.maximum(counts, 1), np.nan)


def reading_time_alignment(surprisal, reading_times, word_within_sentence_id) -> ReadingTimeScore:
    """Brain-Score's Futrell2018 score of per-word model values against human reading times.

    surprisal: [n_words] (any per-word prediction). reading_times: [n_words] mean RTs or
    [n_words, n_subjects] per-subject RTs with NaN where a subject has none. Words whose mean RT or
    surprisal is NaN are skipped (Brain-Score's data has none after the first word; counts are kept).
    """
    from scipy.stats import pearsonr

    within = np.asarray(word_within_sentence_id)
    prediction = np.asarray(surprisal, dtype=np.float64)
    if prediction.ndim != 1:
        raise DataMismatch(f"surprisal must be one value per word, not shape {prediction.shape}")
    _check_length("surprisal", prediction, len(within))
    target = mean_reading_times(reading_times)
    _check_length("reading_times", target, len(within), "rows")
    initial = within == 1
    no_rt = ~initial & np.isnan(target)
    no_prediction = ~initial & ~no_rt & ~np.isfinite(prediction)
    keep = ~(initial | no_rt | no_prediction)
    if keep.sum() < 3:
        raise DataMismatch(f"only {int(keep.sum())} words are left to correlate after dropping "
                           f"{int(initial.sum())} sentence-initial words and {int(no_rt.sum() + no_prediction.sum())} "
                           "without a reading time or surprisal")
    r, p = pearsonr(prediction[keep], target[keep])
    return ReadingTimeScore(raw=float(abs(r)), rvalue=float(r), pvalue=float(p), n_words=int(keep.sum()),
                            excluded={"sentence_initial": int(initial.sum()), "no_reading_time": int(no_rt.sum()),
                                      "no_surprisal": int(no_prediction.sum())})


def split_half_ceiling(per_subject, n_splits: int = 10, seed: int = 0) -> SplitHalfCeiling:
    """Brain-Score's SplitHalvesConsistency on a [words, subjects] RT matrix (NaN where no RT).

    Each split draws half of the subjects (RandomState(seed).choice, without replacement), averages
    each half over its subjects skipping NaN, and correlates the two over all words (sentence-initial
    words included); Spearman-Brown: 2c / (1 + c). Words where a half has no RT at all (possible
    only with sparse data such as one batch of subjects) are left out of that split's correlation.
    """
    from scipy.stats import pearsonr

    values = np.asarray(per_subject, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] < 2:
        raise DataMismatch(f"the split-half ceiling needs a [words, subjects>=2] matrix, not shape {values.shape}")
    subjects = np.arange(values.shape[1])
    rng = np.random.RandomState(seed)
    corrected, uncorrected, n_words = [], [], []
    for _ in range(n_splits):
        half = rng.choice(subjects, size=len(subjects) // 2, replace=False)
        in_half = np.isin(subjects, half)
        a, b = mean_reading_times(values[:, in_half]), mean_reading_times(values[:, ~in_half])
        both = ~np.isnan(a) & ~np.isnan(b)
        c = abs(pearsonr(a[both], b[both])[0])
        uncorrected.append(float(c))
        corrected.append(float(2 * c / (1 + c)))
        n_words.append(int(both.sum()))
    return SplitHalfCeiling(value=float(np.median(corrected)), corrected=corrected, uncorrected=uncorrected,
                            n_words=int(np.median(n_words)), n_subjects=len(subjects))

