"""`python -m nlp_transfer.results <sweep dir>` — the same as `nlp-transfer results <sweep dir>`."""

import sys

from nlp_transfer.cli import main

sys.exit(main(["results", *sys.argv[1:]]))
