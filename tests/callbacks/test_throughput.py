"""The throughput monitor: examples/s once per logging interval, its totals in results.json."""

from __future__ import annotations

import csv
import time

import pytest

from nlp_transfer.callbacks.throughput import seconds_since_process_start


def test_throughput_is_logged_once_per_logging_interval_and_lands_in_results(run_training) -> None:
    record = run_training(
        "logger=csv",
        "trainer.limit_train_batches=6",
        "trainer.log_every_n_steps=2",
    )
    with (record["output_dir"] / "csv" / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    logged = [
        (int(r["step"]), float(r["train/examples_per_s"])) for r in rows if r.get("train/examples_per_s")
    ]
    # steps 2, 4 and 6 (CSV rows count from 0): each value averages the two steps before it
    assert [step for step, _ in logged] == [1, 3, 5]
    assert all(value > 0 for _, value in logged)
    cost = record["cost"]
    assert cost["train_examples"] == 6 * 8  # debug=smoke: batches of 8
    assert cost["train_examples_per_s"] > 0
    assert 0 < cost["seconds_to_first_step"]
    # CPU time of a step: positive, and (one thread in tests) not above its wall time by more than noise
    assert 0 < cost["train_step_cpu_seconds_median"] <= 4 * cost["train_step_seconds_median"] + 0.05


def test_process_age_comes_from_the_kernel_and_advances_with_the_clock() -> None:
    first = seconds_since_process_start()
    if first is None:
        pytest.skip("no /proc on this system")
    time.sleep(0.3)
    second = seconds_since_process_start()
    assert first > 0
    assert 0.2 < second - first < 1.5


def test_a_later_job_in_one_process_times_its_start_from_its_own_beginning(run_training, tmp_path) -> None:
    """In a multirun the jobs share a process; a later job's startup must not include the earlier jobs."""
    run_training(output_dir=tmp_path / "first")
    time.sleep(1.0)  # process age now exceeds anything the next job could take to start
    later = run_training(output_dir=tmp_path / "later")["cost"]
    assert 0 < later["seconds_to_first_step"] < later["wall_seconds"]
