"""The TR rule and text alignment of `blank_audio` on small hand-made inputs."""

import gzip

import pandas as pd

from brainalign.datasets.blank_audio import (read_textgrid, story_fragments, story_words,
                                                     tr_words)

GRID = '''File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0.0
xmax = 3.0
tiers? <exists>
size = 2
item []:
\titem [1]:
\t\tclass = "IntervalTier"
\t\tname = "words"
\t\txmin = 0.000000
\t\txmax = 3.000000
\t\tintervals: size = 3
\t\tintervals [1]:
\t\t\txmin = 0.0
\t\t\txmax = 0.5
\t\t\ttext = ""
\t\tintervals [2]:
\t\t\txmin = 0.5
\t\t\txmax = 1.25
\t\t\ttext = " LONG / 1.55.1"
\t\tintervals [3]:
\t\t\txmin = 1.25
\t\t\txmax = 3.0
\t\t\ttext = "CLEAR / 10.459.3""
\titem [2]:
\t\tclass = "IntervalTier"
\t\tname = "phones"
\t\txmin = 0.000000
\t\txmax = 3.000000
\t\tintervals: size = 1
\t\tintervals [1]:
\t\t\txmin = 0.0
\t\t\txmax = 3.0
\t\t\ttext = "sil"
'''


def test_read_textgrid_words_tier(tmp_path):
    path = tmp_path / "1_aligned.TextGrid.gz"
    with gzip.open(path, "wt") as f:
        f.write(GRID)
    tier = read_textgrid(path)
    assert tier["text"].tolist() == ["", " LONG / 1.55.1", 'CLEAR / 10.459.3"']
    assert tier["start"].tolist() == [0.0, 0.5, 1.25] and tier["end"].tolist() == [0.5, 1.25, 3.0]
    assert read_textgrid(path, "phones")["text"].tolist() == ["sil"]
    words = story_words(path)
    assert words["word"].tolist() == ["", "LONG", "CLEAR"]
    assert words["token"].tolist() == [-1, 55, 459] and words["piece"].tolist() == ["", "1", "3"]


def _words(rows):
    return pd.DataFrame(rows, columns=["word", "start", "end", "token", "piece"])


def test_tr_rule():
    # TR k is at 2(k+1) - 8 s; minus the 4 s BOLD shift it hears words ending by 2k - 10 s
    words = _words([("", 0, 0.5, -1, ""), ("ONE", 0.5, 1.2, 1, ""), ("TWO", 1.2, 2.0, 2, ""),
                    ("<s>", 2.0, 2.5, -1, ""), ("", 2.5, 5.0, -1, ""), ("THREE", 5.0, 5.9, 3, ""),
                    ("FOUR", 5.9, 7.5, 4, ""), ("", 7.5, 9.0, -1, ""), ("LATE", 9.0, 9.5, 5, "")])
    words = words.iloc[:-1]  # the story ends with the silence
    heard = [(k, t, words["word"].iloc[rows].tolist()) for k, t, rows in tr_words(words, n_trs=30)]
    # TRs 0-5 are fixation; TR 7 only hears a marker; TR 10 only silence, then the story is over
    assert heard == [(6, 6.0, ["ONE", "TWO"]), (8, 10.0, ["THREE"]), (9, 12.0, ["FOUR"])]
    assert len(tr_words(words, n_trs=9)) == 2  # the scan ends with the recording


def test_fragments_restore_the_text_and_number_the_parts():
    tokens = ["'Hello,", "long-bearded", "friend!'", "Bye."]
    words = _words([("HELLO", 0.0, 1.0, 1, "word"), ("LONG", 1.0, 2.0, 2, "1"),
                    ("BEARDED", 2.0, 3.0, 2, "3"), ("FRIEND", 3.0, 4.0, 3, "word"),
                    ("BYE", 4.5, 5.0, 4, "word")])
    fragments = story_fragments(words, tokens, "S", n_trs=20, fixation_s=0, bold_shift_s=0)
    assert fragments["stimulus"].tolist() == ["'Hello, long", "-bearded friend!' ", "Bye."]
    assert "".join(fragments["stimulus"]) == " ".join(tokens)
    assert fragments["stimulus_id"].tolist() == ["S.0.0", "S.0.1", "S.1.0"]
    assert fragments["meta_sentence"].tolist() == ["hello long", "bearded friend", "bye"]
