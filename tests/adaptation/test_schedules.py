import math

import pytest

from nlp_transfer.adaptation.schedules import ganin_lambda


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        (0.0, 0.0),
        # 2 / (1 + e^-5) - 1, computed by hand: e^-5 = 0.006737947; 2 / 1.006737947 - 1 = 0.986614298
        (0.5, 0.986614298),
        # 2 / (1 + e^-10) - 1 = 0.999909204
        (1.0, 0.999909204),
    ],
)
def test_ganin_schedule_matches_the_paper_formula(progress: float, expected: float) -> None:
    assert ganin_lambda(progress) == pytest.approx(expected, abs=1e-9)


def test_schedule_scales_with_max_value_and_gamma() -> None:
    assert ganin_lambda(0.5, gamma=2.0, max_value=0.3) == pytest.approx(0.3 * (2 / (1 + math.exp(-1.0)) - 1))


def test_schedule_is_monotone_and_clipped() -> None:
    values = [ganin_lambda(p / 20) for p in range(21)]
    assert values == sorted(values)
    assert ganin_lambda(-1.0) == 0.0
    assert ganin_lambda(5.0) == ganin_lambda(1.0)


def test_warmup_factors_and_an_unknown_name() -> None:
    from nlp_transfer.adaptation.schedules import warmup_factor

    assert warmup_factor(0.3, "constant") == 1.0
    assert warmup_factor(0.3, "linear") == pytest.approx(0.3)
    assert warmup_factor(0.3, "ganin", gamma=10.0) == pytest.approx(ganin_lambda(0.3))
    assert warmup_factor(0.0, "ganin") == 0.0 and warmup_factor(2.0, "linear") == 1.0
    with pytest.raises(ValueError, match="ganin"):
        warmup_factor(0.5, "cosine")
