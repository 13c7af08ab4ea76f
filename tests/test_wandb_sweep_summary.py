"""The sweep's report as one offline W&B run of the sweep's group: tables and figures, read back from disk."""

from __future__ import annotations

import json
from pathlib import Path

from nlp_transfer.wandb_sweep_summary import SUMMARY_JOB_TYPE, csv_rows, log_sweep_summary, markdown_tables
from tests.wandb_offline import history_rows, run_info

RUNS_CSV = "strategy,source,target,target_test_acc\nfine_tune,books,kitchen,0.75\ndann,books,kitchen,\n"
RESULTS_MD = """### sentiment: target/test/acc

| strategy | books → kitchen | average |
|---|---|---|
| fine_tune | 0.7500 | 0.7500 |

In-domain (source = target):

| strategy | books | average | gap |
|---|---|---|---|
| fine_tune | 0.8000 | 0.8000 | 0.0500 |
"""


def summary_run(sweep_dir: Path) -> tuple[Path, dict, dict]:
    """The one summary run under `<sweep dir>/wandb/`: (its folder, its run record, its logged values)."""
    (run_file,) = (sweep_dir / "wandb").glob("offline-run-*/run-*.wandb")
    (logged,) = history_rows(run_file)  # everything is logged in one step
    return run_file.parent, run_info(run_file), logged


def logged_table(run_dir: Path, logged: dict, key: str) -> dict:
    """A logged wandb.Table as W&B stored it: {"columns": [...], "data": [[...], ...]}."""
    assert logged[f"{key}/_type"] == "table-file"
    return json.loads((run_dir / "files" / logged[f"{key}/path"]).read_text())


def test_markdown_tables_are_read_as_header_and_rows() -> None:
    cross, in_domain = markdown_tables(RESULTS_MD)
    assert cross == (["strategy", "books → kitchen", "average"], [["fine_tune", "0.7500", "0.7500"]])
    assert in_domain[0] == ["strategy", "books", "average", "gap"] and len(in_domain[1]) == 1


def test_each_csv_column_has_one_type_and_setting_ids_stay_text(tmp_path: Path) -> None:
    """A benchmark sweep's runs.csv broke the W&B table once: the setting id 059119408144 read as a number in
    one row, b47e2928fbf8 as text in the next ("Data row contained incompatible types")."""
    import wandb

    path = tmp_path / "runs.csv"
    path.write_text("strategy,seed,source_val,note,setting\nbnm,1,0.89,1.5,059119408144\n"
                    "cdan,2,,abc,b47e2928fbf8\n")  # fmt: skip
    header, rows = csv_rows(path)
    assert rows == [["bnm", 1.0, 0.89, "1.5", "059119408144"], ["cdan", 2.0, None, "abc", "b47e2928fbf8"]]
    assert wandb.Table(columns=header, data=rows).data == rows  # W&B takes them


def test_the_report_becomes_one_offline_run_in_the_sweeps_group(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    sweep_dir = tmp_path / "2026-01-01_00-00-00"
    sweep_dir.mkdir()
    (sweep_dir / "runs.csv").write_text(RUNS_CSV)
    (sweep_dir / "results_sentiment.md").write_text(RESULTS_MD)
    plt.figure(figsize=(2, 2))
    plt.savefig(sweep_dir / "strategies_sentiment.png")
    plt.close("all")
    written = {
        "csv": [sweep_dir / "runs.csv"],
        "markdown": [sweep_dir / "results_sentiment.md"],
        "figures": [sweep_dir / "strategies_sentiment.png"],
    }
    returned = log_sweep_summary(sweep_dir, written, project="nlp-transfer", mode="offline")

    run_dir, info, logged = summary_run(sweep_dir)
    assert returned == run_dir
    assert (info["group"], info["job_type"]) == ("sweep-2026-01-01_00-00-00", SUMMARY_JOB_TYPE)
    runs = logged_table(run_dir, logged, "runs")
    assert runs == {
        "columns": ["strategy", "source", "target", "target_test_acc"],
        "data": [["fine_tune", "books", "kitchen", 0.75], ["dann", "books", "kitchen", None]],
    }
    cross = logged_table(run_dir, logged, "results/sentiment/cross_domain")
    assert cross["data"] == [["fine_tune", "0.7500", "0.7500"]]
    assert logged_table(run_dir, logged, "results/sentiment/in_domain")["columns"][-1] == "gap"
    assert logged["figures/strategies_sentiment/_type"] == "image-file"
    assert (run_dir / "files" / logged["figures/strategies_sentiment/path"]).is_file()


def test_a_disabled_wandb_logs_no_summary_run(tmp_path: Path) -> None:
    assert log_sweep_summary(tmp_path, {"csv": []}, project="nlp-transfer", mode="disabled") is None
    assert not (tmp_path / "wandb").exists()
