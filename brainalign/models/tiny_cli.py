"""Build the tiny offline stand-ins that conf/model/tiny-*.yaml point at.

    python -m brainalign.models.tiny_cli --out ~/.cache/brainalign/tiny     # the configs' default folder
    export BRAINALIGN_TINY=/elsewhere   # if you build them somewhere else

Each family goes to <out>/<family> (gpt2, llama, t5): 2 blocks per stack, random weights, a tokenizer
trained on CPython's own help text. No network is used.
"""

import argparse
import os
from pathlib import Path

from brainalign.models.tiny import FAMILIES, build_tiny

DEFAULT_OUT = os.environ.get("BRAINALIGN_TINY", "~/.cache/brainalign/tiny")


def build_all(out, families=FAMILIES, force: bool = False) -> dict[str, Path]:
    """Build (or keep, unless `force`) every family's tiny model under `out`; return {family: folder}."""
    out = Path(os.path.expanduser(str(out)))
    done = {}
    for family in families:
        folder = out / family
        if force or not (folder / "config.json").exists():
            build_tiny(family, folder)
        done[family] = folder
    return done


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m brainalign.models.tiny_cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"parent folder (default {DEFAULT_OUT})")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--force", action="store_true", help="rebuild folders that already exist")
    args = parser.parse_args(argv)
    for family, folder in build_all(args.out, args.families, args.force).items():
        print(f"tiny-{family}: {folder}")
    if os.path.expanduser(args.out) != os.path.expanduser("~/.cache/brainalign/tiny"):
        print(f"export BRAINALIGN_TINY={os.path.expanduser(args.out)}   # so conf/model/tiny-*.yaml find them")


if __name__ == "__main__":
    main()
