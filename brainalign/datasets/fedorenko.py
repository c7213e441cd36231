"""Fedorenko et al. 2016 (PNAS): ECoG high-gamma responses to sentences read word by word
(Brain-Score's `Fedorenko2016.language`: 416 words = 52 sentences x 8 words, 97 language-responsive
electrodes of 5 patients).

Each word is a stimulus; its passage is its sentence (`sentence_id`), so the model reads the
sentence up to and including that word, as Brain-Score feeds a sentence's words to
`digest_text`. The ceiling is computed from the data (Brain-Score's extrapolation over
`subject_UID`, with the benchmark's own metric), not stored."""

from brainalign.datasets.brain import BrainData
from brainalign.datasets.store import STORE
from brainalign.datasets.subject_assembly import load_subject_assembly

URL = f"{STORE}/assy_Fedorenko2016_language.nc"
SHA1 = "2966b6d78e972a72068aa6907377483f427e8d9a"
PRESENTATION_COORDS = ["stimulus_id", "stimulus", "word_num", "sentence_id"]


def load_fedorenko(path=None, url=URL, sha1=SHA1, cache_dir=None, progress=True) -> BrainData:
    """The 416 words x 97 electrodes, in the file's order (word by word, sentence by sentence).
    `path` is a local `assy_Fedorenko2016_language.nc`; without it the file is downloaded once
    from `url` and its SHA-1 checked."""
    return load_subject_assembly("Fedorenko2016", path, url, sha1, cache_dir, progress, PRESENTATION_COORDS, "sentence_id")
