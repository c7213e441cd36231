"""Build the tiny offline stand-ins that conf/model/tiny-*.yaml point at (they are also built on first use).

    python -m brainalign.models.tiny_cli                 # into paths.tiny (~/.cache/brainalign/tiny)
    python -m brainalign.models.tiny_cli --out /elsewhere && export BRAINALIGN_TINY=/elsewhere

Each family goes to <out>/<family> (gpt2, llama, t5): 2 blocks per stack, random weights, a tokenizer
trained on CPython's own help text. No network is used.
"""

import argparse
import os

from brainalign.config.paths import path
from brainalign.models.tiny import FAMILIES, build_all


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m brainalign.models.tiny_cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    default = str(path("tiny"))
    parser.add_argument("--out", default=default, help=f"parent folder (default paths.tiny: {default})")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--force", action="store_true", help="rebuild folders that already exist")
    args = parser.parse_args(argv)
    for family, folder in build_all(args.out, args.families, args.force).items():
        print(f"tiny-{family}: {folder}")
    if os.path.expanduser(args.out) != default:
        print(f"export BRAINALIGN_TINY={os.path.expanduser(args.out)}   # so conf/model/tiny-*.yaml find them")


if __name__ == "__main__":
    main()
