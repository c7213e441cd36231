"""The Wehbe2014 release loader: reads the layout, and names any mismatch with the stimulus."""

import numpy as np
import pytest

from brainalign.datasets.wehbe import WehbeTiming, load_release, load_wehbe
from brainalign.errors import DataMismatch, DataUnavailable
from fixtures_wehbe import write_release

SUBJ = ("F", "H", "I")


@pytest.fixture
def release(words, tmp_path):
    return write_release(tmp_path / "hp", words, subjects=SUBJ, n_voxels=9, n_language=4)


def test_reads_the_release(release, words):
    data = load_release(release, subjects=SUBJ)
    assert data.responses.shape == (1211, 3 * 4) and data.responses.dtype == np.float32
    assert data.subject_names == list(SUBJ) and data.synthetic and len(data.words) == len(words) == 5176
    assert data.timing.n_kept == 1211 and data.timing.describe().startswith("1351 TRs in 4 runs = 1211")
    assert load_release(release, subjects=SUBJ, roi=None).responses.shape == (1211, 27)
    assert load_release(release, subjects=SUBJ, roi="PostTemp").responses.shape[1] < 12
    assert load_release(release, subjects=SUBJ, max_voxels=2).responses.shape == (1211, 6)
    cfg = {"path": str(release), "subjects": list(SUBJ), "roi": "all"}
    np.testing.assert_array_equal(load_wehbe(cfg).responses, data.responses)


def test_roi_file_in_the_fmri_folder(words, tmp_path):
    root = write_release(tmp_path / "hp", words, subjects=("F",), n_voxels=6, n_language=3, rois_in_fmri=True)
    assert load_release(root, subjects=("F",)).responses.shape == (1211, 3)


def test_tr_count_mismatch_is_named(release):
    np.save(release / "fMRI" / "data_subject_H.npy", np.zeros((1200, 9), dtype=np.float32))
    with pytest.raises(DataMismatch, match=r"data_subject_H.npy has 1200 TRs .* 1351 TRs in 4 runs = 1211"):
        load_release(release, subjects=SUBJ)


def test_word_timing_mismatch_is_named(release):
    times = np.load(release / "fMRI" / "time_words_fmri.npy")
    np.save(release / "fMRI" / "time_words_fmri.npy", times[:-10])
    with pytest.raises(DataMismatch, match=r"5166 word onsets but the stimulus has 5176 words"):
        load_release(release, subjects=SUBJ)
    np.save(release / "fMRI" / "time_words_fmri.npy", times + 100.0)
    with pytest.raises(DataMismatch, match=r"word onsets lie outside the scan"):
        load_release(release, subjects=SUBJ)


def test_run_and_roi_mismatches_are_named(release):
    np.save(release / "fMRI" / "runs_fmri.npy", np.load(release / "fMRI" / "runs_fmri.npy")[:-1])
    with pytest.raises(DataMismatch, match="time_fmri.npy has 1351 TRs but runs_fmri.npy has 1350"):
        load_release(release, subjects=SUBJ)
    with pytest.raises(DataMismatch, match="runs must be numbered"):
        WehbeTiming(np.arange(100.0), np.repeat([1, 3], 50), np.array([10.0]), head_trim=2, tail_trim=2)


def test_roi_mask_of_the_wrong_length(release):
    rois = np.load(release / "HP_subj_roi_inds.npy", allow_pickle=True).item()
    rois["I"]["all"] = np.ones(5, dtype=bool)
    np.save(release / "HP_subj_roi_inds.npy", np.array(rois, dtype=object), allow_pickle=True)
    with pytest.raises(DataMismatch, match=r"\['I'\]\['all'\]: the ROI mask has 5 entries but the data have 9"):
        load_release(release, subjects=SUBJ)
    with pytest.raises(DataMismatch, match="no ROI 'IFG' for subject F"):
        load_release(release, subjects=SUBJ, roi="IFG")


def test_missing_release_says_where_to_get_it(tmp_path):
    with pytest.raises(DataUnavailable, match=r"drive.google.com.*dataset.path"):
        load_release(tmp_path / "nowhere")
    with pytest.raises(DataUnavailable, match="dataset.path"):
        load_wehbe({"path": None})
