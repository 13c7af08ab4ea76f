"""Build the project's JSONL data layout from the datasets' original public files.

    python scripts/prepare_data.py --out data [--tasks sentiment emotion topic ner] [--raw-dir raw]

Raw files are read from --raw-dir (one folder per upstream repository, as cloned at the pinned commit);
files missing there are downloaded from GitHub into it. Without --raw-dir, downloads go to a temporary
folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from nlp_transfer.data.sources.fetch import DEFAULT_TIMEOUT_S, GITHUB_RAW_BASE, RawFetcher, SourceError
from nlp_transfer.data.sources.tasks import TASK_SOURCES, prepare_tasks


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output root: <out>/<task>/<domain>/*.jsonl")
    parser.add_argument(
        "--tasks", nargs="+", choices=sorted(TASK_SOURCES), default=list(TASK_SOURCES), help="default: all"
    )
    parser.add_argument(
        "--raw-dir",
        type=Path,
        default=None,
        help="folder of original files, DIR/<repository name>/<path in repository>; missing ones are "
        "downloaded into it",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per download")
    parser.add_argument(
        "--base-url",
        default=GITHUB_RAW_BASE,
        help="raw-content host: <base-url>/<owner>/<repo>/<commit>/<path>",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    """Prepares the tasks; a source that cannot be obtained ends the run with its message."""
    with tempfile.TemporaryDirectory(prefix="nlp-transfer-raw-") as scratch:
        raw_dir = args.raw_dir if args.raw_dir is not None else Path(scratch)
        fetcher = RawFetcher(raw_dir, base_url=args.base_url, timeout=args.timeout)
        try:
            written = prepare_tasks(args.out, args.tasks, fetcher)
        except SourceError as err:
            print(f"prepare_data: error: {err}", file=sys.stderr)
            return 2
    print(f"wrote {len(written)} files under {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
