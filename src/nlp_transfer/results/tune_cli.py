"""`nlp-transfer tune <sweep dir> […]`: a strategy's settings ranked on source validation, the rule applied.

For the tuning sweeps (conf/experiment/tune_lora.yaml, tune_da_weights.yaml): which setting would replace the
strategy's current default (results/tuning.py). The default is what `python train.py strategy=<name>` runs
now, read from conf/.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "settings of a strategy ranked on source validation; which one replaces the default"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep_dir", type=Path, nargs="+", help="folders of runs (pooled)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: the first folder)")
    parser.add_argument("--margin", type=float, default=0.01, help="gain a setting needs over the default")


def current_defaults(strategy: str, keys: list[str]) -> dict[str, str]:
    """key → JSON text of its value in `python train.py strategy=<strategy>` (unresolvable keys: left out)."""
    from omegaconf import OmegaConf

    from nlp_transfer.config import compose_train

    cfg = compose_train([f"strategy={strategy}"])
    defaults = {}
    for key in keys:
        try:
            value = OmegaConf.select(cfg, key, throw_on_missing=True)
        except Exception:  # an interpolation only a Hydra run resolves (${hydra:…}): unknown here
            continue
        if OmegaConf.is_config(value):
            value = OmegaConf.to_container(value, resolve=True)
        defaults[key] = json.dumps(value, sort_keys=True)
    return defaults


def run(args: argparse.Namespace) -> int:
    from nlp_transfer.results.collect import collect_runs
    from nlp_transfer.results.tuning import tune, tuning_markdown, write_tuning

    try:
        rows = [row for folder in args.sweep_dir for row in collect_runs(folder)]
    except FileNotFoundError as err:
        print(f"nlp-transfer tune: {err}", file=sys.stderr)
        return 2
    tunings = tune(rows, current_defaults, margin=args.margin)
    if not tunings:
        print(f"nlp-transfer tune: no strategy under {', '.join(map(str, args.sweep_dir))} was run in more "
              "than one setting (e.g. python train.py -m experiment=tune_lora)", file=sys.stderr)  # fmt: skip
        return 2
    print(tuning_markdown(tunings, args.margin))
    for path in write_tuning(tunings, args.out or args.sweep_dir[0], args.margin):
        print(f"wrote: {path}")
    return 0
