"""Multiruns as a user runs them: `python train.py -m ...`, then `python -m nlp_transfer.results`."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nlp_transfer.config import PROJECT_ROOT
from tests.results.test_tables import table_rows
from tests.test_wandb_sweep_summary import logged_table, summary_run
from tests.wandb_offline import history_rows, run_info

DOMAINS = ["books", "dvd", "electronics", "kitchen"]


def run(args: list[str], cwd: Path, timeout: int = 1200) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_API_KEY", "WANDB_MODE")}
    env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def sweep(tmp_path: Path, *overrides: str) -> tuple[subprocess.CompletedProcess, Path]:
    sweep_dir = tmp_path / "sweep"
    result = run(
        [str(PROJECT_ROOT / "train.py"), "-m", "backbone=tiny", "debug=smoke", f"hydra.sweep.dir={sweep_dir}",
         f"paths.cache_dir={tmp_path / 'cache'}", *overrides],
        cwd=tmp_path,
    )  # fmt: skip
    return result, sweep_dir


@pytest.mark.slow
def test_amazon_grid_of_two_strategies_becomes_the_table(tmp_path: Path) -> None:
    result, sweep_dir = sweep(tmp_path, "experiment=amazon_grid", "strategy=fine_tune,dann", "logger=none")
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in sweep_dir.glob("*/results.json")]
    # fine_tune never sees target data: the transfer_grid sweeper trains it once per source
    assert len(records) == 4 + 16 and all(r["status"] == "ok" for r in records)

    report = run(["-m", "nlp_transfer.results", str(sweep_dir)], cwd=tmp_path, timeout=120)
    assert report.returncode == 0, report.stderr
    table = table_rows((sweep_dir / "results_sentiment.md").read_text())
    cross, diagonal = table[:3], table[3:]
    pairs = [(s, t) for s in DOMAINS for t in DOMAINS if s != t]
    assert cross[0] == ["strategy", *[f"{s} → {t}" for s, t in pairs], "average"]
    assert diagonal[0] == ["strategy", *DOMAINS, "average", "gap"]
    score = {}
    for r in records:
        strategy, source = r["config"]["strategy"], r["config"]["source"]
        if r["config"]["evaluate_on"] == "all_domains":
            score |= {(strategy, source, d): r["metrics"][f"domains/{d}/test/acc"] for d in DOMAINS}
        else:
            score[(strategy, source, r["config"]["target"])] = r["metrics"]["target/test/acc"]
    assert {s for s, _, _ in score} == {"fine_tune", "dann"} and len(score) == 32
    for row in cross[1:]:
        strategy, cells = row[0], row[1:-1]
        assert len(cells) == 12
        for (s, t), cell in zip(pairs, cells, strict=True):
            assert cell == f"{score[(strategy, s, t)]:.4f}"
    for row in diagonal[1:]:
        for domain, cell in zip(DOMAINS, row[1:5], strict=True):
            assert cell == f"{score[(row[0], domain, domain)]:.4f}"
    assert {p.name for p in sweep_dir.glob("*.png")} == {
        "heatmap_sentiment_fine_tune.png", "heatmap_sentiment_dann.png", "strategies_sentiment.png",
        "compare_sentiment_tiny.png",  # the sweep's end also compares dann with fine_tune, per pair
    }  # fmt: skip
    assert len((sweep_dir / "runs.csv").read_text().splitlines()) == 33
    compared = (sweep_dir / "compare.md").read_text()
    assert "dann − fine_tune" in compared
    assert all(f"| {s} → {t} | " in compared for s, t in pairs)


@pytest.mark.slow
def test_a_failing_job_does_not_stop_the_sweep_and_each_job_has_its_own_wandb_run(tmp_path: Path) -> None:
    result, sweep_dir = sweep(
        tmp_path, "strategy=fine_tune,dann", "domain.target=kitchen,nowhere", "logger=wandb"
    )
    assert result.returncode == 1, "a sweep with a failed job must exit non-zero"
    assert "2 job(s) of the sweep failed" in result.stderr
    records = {p.parent.name: json.loads(p.read_text()) for p in sweep_dir.glob("*/results.json")}
    assert len(records) == 4
    assert sorted(r["status"] for r in records.values()) == ["failed", "failed", "ok", "ok"]

    for name, record in records.items():
        run_files = list((sweep_dir / name / "wandb").glob("offline-run-*/run-*.wandb"))
        if record["status"] != "ok":
            assert "Unknown target domain 'nowhere'" in record["error"]
            continue
        assert len(run_files) == 1, f"{name}: expected its own W&B run"
        info = run_info(run_files[0])
        assert info["group"] == "sweep-sweep"
        assert info["job_type"] == record["config"]["strategy"]
        swept = {k: info["config"][k] for k in ("backbone", "strategy", "source", "target")}
        assert swept == {"backbone": "tiny", "strategy": record["config"]["strategy"], "source": "books",
                         "target": "kitchen"}  # fmt: skip
        logged = {k: v for row in history_rows(run_files[0]) for k, v in row.items()}
        assert logged["target/test/acc"] == pytest.approx(record["metrics"]["target/test/acc"])
    # the sweep's report is one more offline run of the group, holding the table and the figures
    summary_dir, summary, logged = summary_run(sweep_dir)
    assert (summary["group"], summary["job_type"]) == ("sweep-sweep", "sweep_report")
    runs_table = logged_table(summary_dir, logged, "runs")
    assert sorted(runs_table["data"][i][runs_table["columns"].index("status")] for i in range(4)) == [
        "failed", "failed", "ok", "ok"
    ]  # fmt: skip
    cross_domain = logged_table(summary_dir, logged, "results/sentiment/cross_domain")
    assert cross_domain["columns"][1] == "books → kitchen"
    assert {key.split("/")[1] for key in logged if key.startswith("figures/")} >= {"strategies_sentiment"}

    report = run(["-m", "nlp_transfer.results", str(sweep_dir), "--no-plots"], cwd=tmp_path, timeout=120)
    table = table_rows((sweep_dir / "results_sentiment.md").read_text())
    assert table[0] == ["strategy", "books → kitchen", "books → nowhere", "average"]
    assert [row[2] for row in table[1:3]] == ["failed", "failed"]
    assert report.returncode == 0


@pytest.mark.slow  # 4 smoke trainings in a subprocess: about 50 s of CPU
def test_a_source_only_grid_trains_once_per_source_and_fills_all_sixteen_cells(tmp_path: Path) -> None:
    result, sweep_dir = sweep(tmp_path, "experiment=amazon_grid", "strategy=fine_tune", "logger=none")
    assert result.returncode == 0, result.stderr[-3000:]
    records = {p.parent: json.loads(p.read_text()) for p in sweep_dir.glob("*/results.json")}
    assert len(records) == 4, "one training per source, not one per pair"
    assert sorted(r["config"]["source"] for r in records.values()) == DOMAINS
    assert all(r["status"] == "ok" and r["config"]["evaluate_on"] == "all_domains" for r in records.values())
    # the multirun itself ended in the report (callbacks/sweep_report.py); the CLI rewrites the same table
    written_by_sweep = (sweep_dir / "results_sentiment.md").read_text()
    assert {p.name for p in sweep_dir.glob("*.png")} == {
        "heatmap_sentiment_fine_tune.png",
        "strategies_sentiment.png",
    }

    report = run(["-m", "nlp_transfer.results", str(sweep_dir), "--no-plots"], cwd=tmp_path, timeout=120)
    assert report.returncode == 0, report.stderr
    assert (sweep_dir / "results_sentiment.md").read_text() == written_by_sweep
    table = table_rows(written_by_sweep)
    cross, diagonal = table[:2], table[2:]
    pairs = [(s, t) for s in DOMAINS for t in DOMAINS if s != t]
    assert cross[0] == ["strategy", *[f"{s} → {t}" for s, t in pairs], "average"]
    by_source = {r["config"]["source"]: r["metrics"] for r in records.values()}
    expected = [f"{by_source[s][f'domains/{t}/test/acc']:.4f}" for s, t in pairs]
    assert cross[1][0] == "fine_tune" and cross[1][1:-1] == expected
    assert diagonal[1][1:5] == [f"{by_source[d][f'domains/{d}/test/acc']:.4f}" for d in DOMAINS]
    with (sweep_dir / "runs.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 16
    assert {row["evaluated_from"] for row in rows} == {str(path) for path in records}


@pytest.mark.slow  # 9 smoke trainings in a subprocess
def test_leave_one_domain_out_is_one_command_and_fills_the_multi_source_table(tmp_path: Path) -> None:
    three = "books,dvd,electronics"
    result, sweep_dir = sweep(tmp_path, "experiment=leave_one_out", f"domain.target={three}", "logger=none")
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in sweep_dir.glob("*/results.json")]
    assert all(r["status"] == "ok" for r in records)
    pooled = sorted(
        (r["config"]["strategy"], r["config"]["source"]) for r in records if "+" in r["config"]["source"]
    )
    assert pooled == sorted(
        (strategy, source) for strategy in ("fine_tune", "dann_multi_source")
        for source in ("dvd+electronics", "books+electronics", "books+dvd")
    )  # fmt: skip
    assert len(records) == 6 + 3  # fine_tune once per single source, tested on every domain
    table = table_rows((sweep_dir / "results_sentiment.md").read_text().split("Multi-source")[1])
    assert table[0] == ["strategy", "→ books", "→ dvd", "→ electronics", "average"]
    assert [row[0] for row in table[1:]] == [
        "fine_tune · best single source (oracle)", "fine_tune · best single source (source val)",
        "dann_multi_source · pooled sources", "fine_tune · pooled sources",
    ]  # fmt: skip
    assert all(cell != "—" for row in table[1:] for cell in row[1:])
