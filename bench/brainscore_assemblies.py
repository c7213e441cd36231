"""Write small stand-ins for Brain-Score's Tuckute2024 and Fedorenko2016 assemblies with Brain-Score's
own `write_netcdf`: the real dims and coordinates (names, dtypes, sizes), synthetic values.

As a script it runs ONLY inside the Brain-Score venv (see docs/suite.md); the tests and
bench/crosscheck_suite.py call it through $BRAINSCORE_PYTHON (the builders, plain numpy, are also
imported by the quick tests, which write the same layout with xarray):

    $BRAINSCORE_PYTHON bench/brainscore_assemblies.py tuckute2024 out.nc [--values v.npy] [--seed 0]

`--values` gives the responses [presentations, neuroids] (e.g. with a planted signal); without it
they are seeded standard-normal. Prints {"path", "sha1", "shape"} as JSON. The texts are made up
(the real sentences are not ours to ship), except Fedorenko2016's first sentence, which
Brain-Score's data test names. The file says `synthetic = 1`.
"""
import argparse
import json
import os
import warnings

os.environ.setdefault("BS_INSTALL_DEPENDENCIES", "no")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

NAMES = ["ALEX", "MARY", "JOHN", "ANNA", "PETER", "LUCY", "SAM", "KATE"]
STATES = ["TIRED", "HUNGRY", "COLD", "BORED", "HAPPY", "SICK", "LATE"]
ACTS = ["HE TOOK A NAP", "SHE ATE SOME SOUP", "HE READ A BOOK", "SHE ASKED FOR HELP"]
VERBS = ["WAS", "FELT", "SEEMED", "GOT", "BECAME", "STAYED", "LOOKED", "GREW"]
FEDORENKO_ELECTRODES = {1: 47, 2: 8, 3: 9, 4: 15, 5: 18}  # per patient, as Brain-Score packaged them
TUCKUTE_SUBJECTS = [848, 853, 865, 875, 876]


def fedorenko_sentences(n=52):
    """`n` made-up sentences of 8 words: NAME WAS STATE SO + a 4-word clause."""
    made = [f"{name} WAS {state} SO {act}" for act in ACTS for state in STATES for name in NAMES]
    return made[:n]


def fedorenko2016(values=None, seed=0):
    words, word_nums, sentence_ids = [], [], []
    for s, sentence in enumerate(fedorenko_sentences()):
        for k, word in enumerate(sentence.split()):
            words.append(word)
            word_nums.append(k)
            sentence_ids.append(s)
    subjects = np.concatenate([np.repeat(s, n) for s, n in FEDORENKO_ELECTRODES.items()])
    shape = (len(words), len(subjects))
    data = np.random.default_rng(seed).standard_normal(shape) if values is None else values
    electrodes = list(range(len(subjects)))
    return data, {
        "stimulus_id": ("presentation", list(range(len(words)))),
        "stimulus": ("presentation", words), "word": ("presentation", words),
        "word_num": ("presentation", word_nums), "sentence_id": ("presentation", np.array(sentence_ids)),
        "electrode": ("neuroid", electrodes), "neuroid_id": ("neuroid", electrodes),
        "subject_UID": ("neuroid", subjects)}


def tuckute2024(values=None, seed=0, n=1000):
    rng = np.random.default_rng(seed)
    sentences = [f"{NAMES[i % 8].capitalize()} {VERBS[(i // 8) % 8].lower()} {STATES[(i // 64) % 7].lower()} "
                 f"on day {i}." for i in range(n)]
    data = rng.standard_normal((n, 1)) if values is None else values
    return data, {
        "stimulus_id": ("presentation", np.arange(n)),
        "stimulus": ("presentation", sentences),
        "cond": ("presentation", ["B"] * n), "cond_approach": ("presentation", ["baseline"] * n),
        "neuroid_id": ("neuroid", [1]),
        "subject_UID": ("neuroid", ["-".join(str(s) for s in TUCKUTE_SUBJECTS)]),
        "roi": ("neuroid", ["lang_LH_netw"])}


BUILDERS = {"tuckute2024": tuckute2024, "fedorenko2016": fedorenko2016}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", choices=sorted(BUILDERS))
    parser.add_argument("out")
    parser.add_argument("--values", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly
    from brainscore_core.supported_data_standards.brainio.packaging import write_netcdf

    values = None if args.values is None else np.load(args.values)
    data, coords = BUILDERS[args.dataset](values=values, seed=args.seed)
    assembly = NeuroidAssembly(data, dims=("presentation", "neuroid"), coords=coords)
    assembly.attrs["synthetic"] = 1
    sha1 = write_netcdf(assembly, args.out)
    print(json.dumps({"path": args.out, "sha1": sha1, "shape": list(assembly.shape)}))


if __name__ == "__main__":
    main()
