"""A small Alpaca-format sample written for this project (not Alpaca data), for tests and smoke runs.

    python -m finetune.sample sample_alpaca.json
    python main.py task=finetune finetune=alpaca_instruction finetune.data.path=sample_alpaca.json ...

Half the samples have an empty input, as about 60% of Alpaca's do.
"""

import json
import sys
from pathlib import Path
from brainalign.plumbing.io import write_text

SAMPLES = [
    {"instruction": "Give three tips for keeping a houseplant alive.", "input": "",
     "output": "Water it only when the top of the soil is dry, give it bright indirect light, and feed it "
               "lightly in spring and summer."},
    {"instruction": "Translate the sentence into French.", "input": "The library opens at nine.",
     "output": "La bibliotheque ouvre a neuf heures."},
    {"instruction": "Name the largest planet in the solar system.", "input": "",
     "output": "Jupiter is the largest planet in the solar system."},
    {"instruction": "Rewrite the sentence in the passive voice.", "input": "The committee approved the plan.",
     "output": "The plan was approved by the committee."},
    {"instruction": "Explain what a list is in Python.", "input": "",
     "output": "A list is an ordered, mutable sequence of values, written between square brackets."},
    {"instruction": "Classify the animal as a mammal, bird or reptile.", "input": "penguin",
     "output": "A penguin is a bird."},
    {"instruction": "Suggest a name for a bakery.", "input": "",
     "output": "The Rising Loaf."},
    {"instruction": "Summarize the text in one sentence.",
     "input": "The town council met on Tuesday. It voted to repair the old bridge and to open a new park "
              "next summer. Work on the bridge starts in May.",
     "output": "The council voted to repair the bridge from May and to open a new park next summer."},
    {"instruction": "What is the boiling point of water at sea level?", "input": "",
     "output": "Water boils at 100 degrees Celsius at sea level."},
    {"instruction": "Find the sum of the numbers.", "input": "12, 7, 30",
     "output": "The sum is 49."},
    {"instruction": "Write a haiku about autumn.", "input": "",
     "output": "Red leaves on the path\nthe wind counts them one by one\nand carries them home"},
    {"instruction": "Correct the spelling in the sentence.", "input": "She recieved a leter yesterday.",
     "output": "She received a letter yesterday."},
    {"instruction": "List two benefits of regular exercise.", "input": "",
     "output": "Regular exercise strengthens the heart and improves sleep."},
    {"instruction": "Convert the temperature from Fahrenheit to Celsius.", "input": "212 F",
     "output": "212 F is 100 C."},
    {"instruction": "Describe the color of the sky on a clear day.", "input": "",
     "output": "On a clear day the sky is a bright, even blue."},
    {"instruction": "Return the function's value for the argument.", "input": "f(x) = {x} + 1; x = 2",
     "output": "f(2) = 3, because {x} stands for 2."},
]


def write_sample(path: Path, n: int | None = None) -> Path:
    """Write the sample (the first n records) as a JSON list, or JSON lines when path ends in .jsonl."""
    path = Path(path)
    records = SAMPLES[:n] if n else SAMPLES
    if path.suffix == ".jsonl":
        write_text(path, "".join(json.dumps(r) + "\n" for r in records))
    else:
        write_text(path, json.dumps(records, indent=1))
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m finetune.sample OUT.json|OUT.jsonl")
    print(write_sample(Path(sys.argv[1])))
