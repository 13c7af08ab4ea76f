"""`evaluate_on=all_domains`: one source-only model tested on every domain of its task."""

from __future__ import annotations

import pytest

from nlp_transfer.results.domain_metrics import domain_metrics

SENTIMENT = ["books", "dvd", "electronics", "kitchen"]
NER = ["news", "politics", "science", "music", "literature", "ai"]


def test_one_run_tests_every_domain_and_equals_the_pair_run_it_replaces(run_training, tmp_path) -> None:
    shared = run_training("evaluate_on=all_domains", "domain.source=books", "domain.target=kitchen")
    pair = run_training("domain.source=books", "domain.target=dvd", output_dir=tmp_path / "pair")
    metrics = shared["metrics"]
    assert shared["config"]["evaluate_on"] == "all_domains"
    per_domain = domain_metrics(metrics)
    assert list(per_domain) == sorted(SENTIMENT)
    assert all({"acc", "macro_f1", "loss"} <= set(values) for values in per_domain.values())
    # the configured pair keeps its usual names, as copies of its two domains
    assert metrics["target/test/acc"] == metrics["domains/kitchen/test/acc"]
    assert metrics["source/test/acc"] == metrics["domains/books/test/acc"]
    # a source-only model does not depend on the target: the shared run's dvd cell is the dvd pair run's
    assert metrics["domains/dvd/test/acc"] == pytest.approx(pair["metrics"]["target/test/acc"], abs=1e-6)
    assert metrics["source/val/acc"] == pytest.approx(pair["metrics"]["source/val/acc"], abs=1e-6)


def test_ner_tests_every_domain_through_the_label_map(run_training) -> None:
    record = run_training("task=ner", "evaluate_on=all_domains")
    per_domain = domain_metrics(record["metrics"])
    assert set(per_domain) == set(NER)
    assert all("f1" in values for values in per_domain.values())


def test_a_strategy_that_reads_target_data_refuses_all_domains(run_training) -> None:
    with pytest.raises(ValueError, match="DANNModule trains on unlabeled 'kitchen' text.*evaluate_on=pair"):
        run_training("strategy=dann", "evaluate_on=all_domains")


def test_an_unknown_evaluate_on_is_refused(run_training) -> None:
    with pytest.raises(ValueError, match="evaluate_on must be one of"):
        run_training("evaluate_on=everything")
