"""Sweep tables from results.json records written by hand (no training): layout, seeds, failures."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from nlp_transfer.cli import main
from nlp_transfer.results.cli import build_report
from nlp_transfer.results.collect import collect_runs
from nlp_transfer.results.tables import markdown_table

DOMAINS = ["books", "dvd", "kitchen"]


def write_run(
    root: Path, name: str, strategy: str, source: str, target: str, acc: float | None, seed: int = 42
):
    folder = root / name
    folder.mkdir(parents=True)
    record = {
        "status": "ok" if acc is not None else "failed",
        "config": {
            "task": "sentiment", "strategy": strategy, "backbone": "tiny", "source": source, "target": target,
            "seed": seed, "resolved": {"task": {"domains": DOMAINS, "selection_metric": "source/val/acc"}},
        },
        "metrics": {"target/test/acc": acc, "source/val/acc": 0.9} if acc is not None else {},
        "cost": {"wall_seconds": 1.0},
    }  # fmt: skip
    if acc is None:
        record["error"] = "RuntimeError: boom"
    (folder / "results.json").write_text(json.dumps(record))


def table_rows(markdown: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in markdown.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]


def test_cross_domain_table_diagonal_gap_seeds_and_failures(tmp_path: Path) -> None:
    write_run(tmp_path, "a", "dann", "books", "dvd", 0.70, seed=1)
    write_run(tmp_path, "b", "dann", "books", "dvd", 0.80, seed=2)
    write_run(tmp_path, "c", "dann", "dvd", "books", None)
    write_run(tmp_path, "d", "dann", "books", "books", 0.90)
    write_run(tmp_path, "e", "fine_tune", "books", "dvd", 0.60)
    rows = collect_runs(tmp_path)
    tables = table_rows(markdown_table(rows, "sentiment"))
    header, dann, fine_tune = tables[0], tables[1], tables[2]
    assert header == ["strategy", "books → dvd", "dvd → books", "average"]
    # mean ± half-width of the 95 % t-interval over 2 seeds: t(0.975, 1) · std / √2 = 12.706 · 0.05
    assert dann == ["dann", "0.7500 ± 0.6353", "failed", "0.7500 ± 0.6353*"]
    assert fine_tune == ["fine_tune", "0.6000 (n=1)†", "—", "0.6000 (n=1)†*"]  # fewer seeds: flagged
    diag_header, diag_dann = tables[3], tables[4]
    assert diag_header == ["strategy", "books", "average", "gap"]
    # the in-domain run has seed 42, the cross-domain ones 1 and 2: no seed-wise gap, so no interval
    assert diag_dann == ["dann", "0.9000 (n=1)†", "0.9000 (n=1)†", "+0.1500 (seeds differ)"]


def test_report_writes_csv_markdown_and_figures(tmp_path: Path) -> None:
    runs = tmp_path / "sweep"
    for i, (s, t) in enumerate([(s, t) for s in DOMAINS for t in DOMAINS]):
        write_run(runs, f"{i}", "fine_tune", s, t, 0.5 + 0.01 * i)
    written = build_report(runs, tmp_path / "out")
    with (tmp_path / "out" / "runs.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 9
    assert [p.name for p in written["markdown"]] == ["results_sentiment.md"]
    assert {p.name for p in written["figures"]} == {
        "heatmap_sentiment_fine_tune.png",
        "strategies_sentiment.png",
    }
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in written["figures"])


def test_cli_fails_clearly_on_a_folder_without_runs(tmp_path: Path, capsys) -> None:
    assert main(["results", str(tmp_path)]) == 2
    assert "No results.json" in capsys.readouterr().err


def test_collect_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        collect_runs(tmp_path / "nope")


def test_the_notebook_builds_the_report_headless(tmp_path: Path, monkeypatch) -> None:
    """Execute the notebook in a real Jupyter kernel (nbclient) on a small sweep written here."""
    import nbclient
    import nbformat

    from nlp_transfer.config import PROJECT_ROOT

    for i, (s, t) in enumerate([("books", "dvd"), ("dvd", "books"), ("books", "books")]):
        write_run(tmp_path / "sweep", str(i), "dann", s, t, 0.7 + 0.05 * i)
    monkeypatch.setenv("NLP_TRANSFER_SWEEP", str(tmp_path / "sweep"))  # the kernel inherits the environment
    monkeypatch.setenv("NLP_TRANSFER_REPORT", str(tmp_path / "report"))
    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "compare_strategies.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError if any cell fails

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.output_type == "error"]
    shown = [out.data for out in outputs if out.output_type == "display_data"]
    tables = [data["text/markdown"] for data in shown if "text/markdown" in data]
    images = [data for data in shown if "image/png" in data]
    assert len(tables) == 1 and len(images) == 2  # one task table; one heatmap + the bar chart
    assert "0.7500" in tables[0] and "0.8000" in tables[0]
    printed = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "3 runs, 0 failed" in printed


def test_cells_and_averages_carry_seed_wise_t_intervals(tmp_path: Path) -> None:
    """3 seeds × 2 pairs: each cell's interval over its seeds; the average's over the seeds' averages."""
    from scipy import stats as scipy_stats

    accs = {("books", "dvd"): [0.70, 0.74, 0.72], ("dvd", "books"): [0.60, 0.68, 0.61]}
    for (s, t), values in accs.items():
        for seed, acc in enumerate(values):
            write_run(tmp_path, f"{s}_{t}_{seed}", "dann", s, t, acc, seed=seed)

    def half_width(values: list[float]) -> float:
        return scipy_stats.t.ppf(0.975, len(values) - 1) * scipy_stats.sem(values)

    row = table_rows(markdown_table(collect_runs(tmp_path), "sentiment"))[1]
    books_dvd, dvd_books = accs[("books", "dvd")], accs[("dvd", "books")]
    assert row[1] == f"{sum(books_dvd) / 3:.4f} ± {half_width(books_dvd):.4f}"
    assert row[2] == f"{sum(dvd_books) / 3:.4f} ± {half_width(dvd_books):.4f}"
    per_seed = [(a + b) / 2 for a, b in zip(books_dvd, dvd_books, strict=True)]
    assert row[3] == f"{sum(per_seed) / 3:.4f} ± {half_width(per_seed):.4f}"
    assert "n=3 per cell" in markdown_table(collect_runs(tmp_path), "sentiment")


def test_heatmap_colour_range_fits_the_scores() -> None:
    from nlp_transfer.results.plots import color_range

    low, high = color_range([0.81, 0.86, float("nan"), 0.84])
    assert 0.80 <= low < 0.81 and 0.86 < high <= 0.87  # not 0…1: a 5-point spread stays visible
    assert color_range([float("nan")]) == (0.0, 1.0)
    assert color_range([0.0, 1.0]) == (0.0, 1.0)  # clipped to the score range


def test_figure_file_names_are_plain_for_labelled_strategies() -> None:
    from nlp_transfer.results.plots import file_stem

    assert file_stem("fine_tune") == "fine_tune"
    assert file_stem("dann [strategy.domain_loss_weight=0.3]") == "dann_strategy.domain_loss_weight_0.3"
    assert file_stem("lora [strategy.r=8, optimizer.lr=0.001]") == "lora_strategy.r_8_optimizer.lr_0.001"
