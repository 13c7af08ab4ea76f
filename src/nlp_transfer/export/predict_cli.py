"""`nlp-transfer predict run_dir=…|model=… input=<file|-> [out=] [batch_size=] [format=] [checkpoint=]`.

Predicts new text with a finished run or an exported folder; arguments are key=value pairs, as train.py
takes them (parsed in export/commands.py).
"""

from __future__ import annotations

import argparse

EXTRA_ARGUMENTS = "pairs"  # key=value pairs may also follow the options
HELP = "predict new text with a run or an exported folder"
KEYS = "run_dir=|model= input= [out=] [batch_size=] [format=] [checkpoint=]"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pairs", nargs="*", metavar=KEYS)


def run(args: argparse.Namespace) -> int:
    from nlp_transfer.export.commands import predict_command

    return predict_command(args.pairs)
