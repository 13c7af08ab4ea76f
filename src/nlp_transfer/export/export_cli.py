"""`nlp-transfer export run_dir= [out=] [checkpoint=]`: a finished run as a Hugging Face model folder.

Arguments are key=value pairs, as train.py takes them (parsed in export/commands.py).
"""

from __future__ import annotations

import argparse

EXTRA_ARGUMENTS = "pairs"  # key=value pairs may also follow the options
HELP = "a finished run as a Hugging Face model folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pairs", nargs="*", metavar="run_dir= [out=] [checkpoint=]")


def run(args: argparse.Namespace) -> int:
    from nlp_transfer.export.commands import export_command

    return export_command(args.pairs)
