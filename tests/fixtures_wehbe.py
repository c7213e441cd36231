"""A simulated Wehbe2014 release over the REAL word sequence, with a signal the pipeline must recover.

The words are the 5,176 presented words from ../shared/data/wehbe2014 (copyrighted: read from
there, never committed). The timing imitates the experiment (TR 2 s, one word per 0.5 s, first word
at 20 s, 1,351 TRs in 4 runs, 1,211 kept after removing the first 20 / last 15 TRs of each run); the
exact run lengths of the real release are not public, so these are plausible stand-ins.

Responses of the language-network voxels are a linear map of the delayed (1-4 TRs) TR means of the
words' features (their top principal components), plus noise; the other voxels are noise only.
"""

import hashlib
from pathlib import Path

import numpy as np

from brainalign.datasets.wehbe import SUBJECTS, SYNTHETIC_MARKER, WehbeTiming
from brainalign.metrics.wehbe import delay, tr_means

RUN_LENGTHS = (330, 338, 338, 345)  # 1,351 TRs
TR_S, WORD_S, LEAD_TRS, TAIL_TRS = 2.0, 0.5, 10, 4


def simulated_timing(n_words: int, run_lengths=RUN_LENGTHS) -> WehbeTiming:
    """Words every 0.5 s from 10 TRs into each run until 4 TRs before its end (the last run absorbs the rest)."""
    runs = np.concatenate([np.full(n, r + 1) for r, n in enumerate(run_lengths)])
    tr_times = np.arange(len(runs)) * TR_S
    per_tr = int(TR_S / WORD_S)
    counts = [per_tr * (n - LEAD_TRS - TAIL_TRS) for n in run_lengths]
    counts[-1] += n_words - sum(counts)
    starts = np.r_[0, np.cumsum(run_lengths)[:-1]]
    word_times = np.concatenate([(s + LEAD_TRS) * TR_S + WORD_S * np.arange(c) for s, c in zip(starts, counts)])
    return WehbeTiming(tr_times, runs, word_times)


def word_type_features(words, dim: int = 10, seed: int = 0) -> np.ndarray:
    """A fixed random vector per word type (lower case, punctuation stripped), variances decaying."""
    scale = 1.0 / np.sqrt(1 + np.arange(dim))
    out = np.empty((len(words), dim))
    for i, w in enumerate(words):
        key = "".join(ch for ch in str(w).lower() if ch.isalnum()) or str(w)
        h = int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16)
        out[i] = np.random.default_rng(h).standard_normal(dim) * scale
    return out


def planted_design(features: np.ndarray, timing: WehbeTiming, n_components: int = 10, skip_words: int = 20):
    """[n_kept, 4 * k]: top-k PCs of the word features (all words) -> TR means -> delays 1..4 -> kept
    TRs, z-scored: what the responses are made of."""
    f = np.asarray(features, dtype=float)[skip_words:]
    f = f - f.mean(axis=0)
    _, _, vt = np.linalg.svd(f, full_matrices=False)
    pcs = f @ vt[:n_components].T
    per_tr = delay(tr_means(pcs, timing.word_tr[skip_words:], len(timing.runs)), (1, 2, 3, 4))
    X = np.nan_to_num(per_tr[timing.kept])
    return (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1)


def write_release(root, words, features=None, *, subjects=SUBJECTS, n_voxels: int = 24, n_language: int = 16,
                  noise: float = 1.0, seed: int = 0, shared_fraction: float = 0.7, rois_in_fmri: bool = False) -> Path:
    """Write a release folder (fMRI/*.npy, stimuli_words.npy, HP_subj_roi_inds.npy, a SYNTHETIC marker).

    `features` [n_words, d] are the word features the signal is built from (default: word-type
    vectors). Each subject's language voxels mix a shared map (`shared_fraction`) and their own.
    """
    root = Path(root)
    fmri = root / "fMRI"
    fmri.mkdir(parents=True, exist_ok=True)
    timing = simulated_timing(len(words))
    X = planted_design(word_type_features(words) if features is None else features, timing)
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal((X.shape[1], n_language))
    rois = {}
    for s in subjects:
        own = rng.standard_normal((X.shape[1], n_language))
        weights = np.sqrt(shared_fraction) * shared + np.sqrt(1 - shared_fraction) * own
        signal = X @ weights
        signal /= signal.std(axis=0)
        data = noise * rng.standard_normal((timing.n_kept, n_voxels))
        language = np.sort(rng.choice(n_voxels, size=n_language, replace=False))
        data[:, language] += signal
        np.save(fmri / f"data_subject_{s}.npy", data.astype(np.float32))
        mask = np.zeros(n_voxels, dtype=bool)
        mask[language] = True
        rois[s] = {"all": mask, "PostTemp": mask & (np.arange(n_voxels) % 2 == 0)}
    np.save(fmri / "time_fmri.npy", timing.tr_times)
    np.save(fmri / "runs_fmri.npy", timing.runs)
    np.save(fmri / "time_words_fmri.npy", timing.word_times)
    np.save(root / "stimuli_words.npy", np.asarray(words).astype(str))   # where users put the word sequence
    np.save((fmri if rois_in_fmri else root) / "HP_subj_roi_inds.npy", np.array(rois, dtype=object), allow_pickle=True)
    (root / SYNTHETIC_MARKER).write_text("simulated by tests/fixtures_wehbe.py\n")
    return root
