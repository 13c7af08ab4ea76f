"""Each validator's pick follows its direction; the oracle is the best target metric over the points."""

from __future__ import annotations

from nlp_transfer.selection.choice import choose
from nlp_transfer.selection.dev import DEVValidator
from nlp_transfer.selection.entropy import EntropyValidator
from nlp_transfer.selection.source_val import SourceValValidator

POINTS = [
    {"step": 10, "source_val": 0.80, "entropy": 0.30, "dev": None, "target/test/acc": 0.70},
    {"step": 20, "source_val": 0.85, "entropy": 0.20, "dev": 0.5, "target/test/acc": 0.75},
    {"step": 30, "source_val": 0.85, "entropy": 0.25, "dev": 0.4, "target/test/acc": 0.72},
]


def test_each_validator_picks_by_its_direction_and_keeps_the_earlier_point_on_a_tie() -> None:
    result = choose(POINTS, [SourceValValidator(), EntropyValidator(), DEVValidator()], "target/test/acc")
    picks = result["validators"]
    assert picks["source_val"] == {"step": 20, "score": 0.85, "target/test/acc": 0.75}  # tie with step 30
    assert picks["entropy"]["step"] == 20  # lower is better
    assert picks["dev"] == {"step": 30, "score": 0.4, "target/test/acc": 0.72}  # undefined at step 10
    assert result["oracle"] == {"step": 20, "target/test/acc": 0.75}
    assert all(pick["target/test/acc"] <= result["oracle"]["target/test/acc"] for pick in picks.values())


def test_a_validator_never_defined_is_left_out_and_no_points_give_no_oracle() -> None:
    rows = [{"step": 1, "dev": None, "target/test/acc": 0.5}]
    assert choose(rows, [DEVValidator()], "target/test/acc")["validators"] == {}
    assert choose([], [DEVValidator()], "target/test/acc") == {"validators": {}, "oracle": None}
