"""`nlp-transfer <command>`: one entry point, one module per command.

Each command module names its `HELP` line and provides `add_arguments(parser)` and `run(args) -> int`
(the exit status), and may name `EXTRA_ARGUMENTS`, its key=value list that may also follow its options.
Adding a command is one module plus one line in `COMMANDS`. Command modules import
no torch or Lightning at module level, so `nlp-transfer --help` and the table commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, str] = {
    "results": "nlp_transfer.results.cli",
    "compare": "nlp_transfer.results.compare_cli",
    "validators": "nlp_transfer.results.validators_cli",
    "curves": "nlp_transfer.results.curves_cli",
    "tune": "nlp_transfer.results.tune_cli",
    "export": "nlp_transfer.export.export_cli",
    "predict": "nlp_transfer.export.predict_cli",
    "diagnose": "nlp_transfer.diagnostics.diagnose_cli",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nlp-transfer", description="nlp-transfer tools")
    subparsers = parser.add_subparsers(dest="command", required=True)
    modules = {name: importlib.import_module(path) for name, path in COMMANDS.items()}
    for name, module in modules.items():
        module.add_arguments(subparsers.add_parser(name, help=module.HELP, description=module.HELP))
    args, extra = parser.parse_known_args(argv)
    # a command whose positional key=value list may also follow its options names that list
    # (`EXTRA_ARGUMENTS`), e.g. `nlp-transfer diagnose task=x --cap 40 paths.cache_dir=…`
    into = getattr(modules[args.command], "EXTRA_ARGUMENTS", None)
    if extra and (into is None or any(item.startswith("-") for item in extra)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:
        setattr(args, into, [*getattr(args, into), *extra])
    return modules[args.command].run(args)


if __name__ == "__main__":
    sys.exit(main())
