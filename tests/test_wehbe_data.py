"""The Wehbe2014 release loader: reads the layout, and names any mismatch with the stimulus."""

import numpy as np
import pytest

from brainalign.datasets.wehbe import WehbeTiming, load_release, load_rois, load_wehbe
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
    rois = load_rois(release / "HP_subj_roi_inds.npy")
    rois["I"]["all"] = np.ones(5, dtype=bool)
    np.save(release / "HP_subj_roi_inds.npy", np.array(rois, dtype=object), allow_pickle=True)
    with pytest.raises(DataMismatch, match=r"\['I'\]\['all'\]: the ROI mask has 5 entries but the data have 9"):
        load_release(release, subjects=SUBJ)
    with pytest.raises(DataMismatch, match="no ROI 'IFG' for subject F"):
        load_release(release, subjects=SUBJ, roi="IFG")


class _WritesAFile:
    """A pickled object whose unpickling writes `path` (what a crafted data file can do)."""

    def __init__(self, path, how):
        self.path, self.how = str(path), how

    def __reduce__(self):
        import os

        return (open, (self.path, "w")) if self.how == "open" else (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("how", ["open", "system"])
def test_a_roi_file_that_runs_code_is_refused_and_nothing_runs(release, tmp_path, how):
    marker = tmp_path / "written-by-the-data-file"
    rois = release / "HP_subj_roi_inds.npy"
    np.save(rois, np.array({"F": {"all": _WritesAFile(marker, how)}}, dtype=object), allow_pickle=True)
    for load in (lambda: load_rois(rois), lambda: load_release(release, subjects=SUBJ)):
        with pytest.raises(DataMismatch) as e:
            load()
        assert str(e.value).startswith(f"{rois}: refused: its pickle calls ") and "\n" not in str(e.value)
        assert not marker.exists()
    # the file really names the call: read statically (pickletools runs nothing), the pickle's globals
    import pickletools

    with open(rois, "rb") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        named = " ".join(str(arg) for op, arg, _ in pickletools.genops(f.read()) if op.name in ("GLOBAL", "STACK_GLOBAL")
                         or (op.name in ("SHORT_BINUNICODE", "BINUNICODE") and arg in ("open", "system", "builtins",
                                                                                          "posix", "nt", "os")))
    assert ("open" if how == "open" else "system") in named


def test_roi_files_of_numpy_1_and_python_2_still_load(tmp_path):
    import pickle

    rois = {"F": {"all": np.array([True, False, True]), "idx": np.arange(3), "n": np.int64(3)}}
    # numpy 1.x wrote numpy.core.multiarray where numpy 2 writes numpy._core.multiarray; protocol 2 = Python 2
    body = pickle.dumps(np.array(rois, dtype=object), protocol=2).replace(b"numpy._core.", b"numpy.core.")
    assert b"numpy.core.multiarray" in body
    header = {"descr": "|O", "fortran_order": False, "shape": ()}
    with open(tmp_path / "HP_subj_roi_inds.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(body)
    loaded = load_rois(tmp_path / "HP_subj_roi_inds.npy")
    np.testing.assert_array_equal(loaded["F"]["all"], rois["F"]["all"])
    np.testing.assert_array_equal(loaded["F"]["idx"], np.arange(3))
    assert loaded["F"]["n"] == 3
    np.save(tmp_path / "plain.npy", np.arange(4))   # not pickled: refused as a dict, named
    with pytest.raises(DataMismatch, match=r"plain.npy: expected a dict"):
        load_rois(tmp_path / "plain.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(DataMismatch, match=r"junk.npy: not a readable .npy file"):
        load_rois(tmp_path / "junk.npy")


def test_missing_release_says_where_to_get_it(tmp_path):
    with pytest.raises(DataUnavailable, match=r"drive.google.com.*dataset.path"):
        load_release(tmp_path / "nowhere")
    with pytest.raises(DataUnavailable, match="dataset.path"):
        load_wehbe({"path": None})
