"""A Hydra callback: a multirun ends in its results table and figures, written into the sweep folder.

The same report as `nlp-transfer results <sweep dir>` (runs.csv, results_<task>.md, heatmaps, bar chart),
so one command goes from the grid to the table. It runs before the failed-jobs check (Hydra calls
end-of-sweep callbacks last to first), so a sweep with failed cells still gets its table, and a problem
while drawing is logged rather than allowed to hide the sweep's own exit status. Runs whose results.json
is unreadable or incomplete are left out of the tables, listed in the log and in incomplete_runs.csv;
the failed-jobs check counts unreadable and still-running ones as failed jobs (non-zero exit).
When the sweep holds the comparison baseline (`compare_baseline`, fine_tune by default) and another
strategy on a shared pair, it also writes `nlp-transfer compare`'s compare.md and difference heatmaps.
With `logger=wandb` the report also becomes one summary run of the sweep's W&B group
(nlp_transfer.wandb_sweep_summary).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from nlp_transfer.config import sweep_group

log = logging.getLogger(__name__)


class WriteSweepReport(Callback):
    """Args: enabled (off for Optuna searches, whose trials are not cells of a table); plots (figures too);
    compare_baseline (the strategy `compare` is run against; null: no comparison)."""

    def __init__(
        self, enabled: bool = True, plots: bool = True, compare_baseline: str | None = "fine_tune"
    ) -> None:
        self.enabled = enabled
        self.plots = plots
        self.compare_baseline = compare_baseline

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.enabled:
            return
        from nlp_transfer.results.cli import build_report, run_listing
        from nlp_transfer.results.collect import collect

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            runs = collect(sweep_dir)
            written = build_report(sweep_dir, plots=self.plots, runs=runs)
        except FileNotFoundError:  # nothing ran (or every job died before writing results.json)
            log.warning("No results.json under %s: no results table written.", sweep_dir)
            return
        except Exception:  # a drawing problem must not mask the sweep's outcome
            log.exception(
                "Writing the results table of %s failed; run `nlp-transfer results` on it.", sweep_dir
            )
            return
        if runs.incomplete:
            log.warning("\n".join(run_listing(runs)))
        tables = ", ".join(str(path) for path in written["markdown"])
        log.info(
            "Results of the sweep: %s (%d figures, runs.csv beside them)", tables, len(written["figures"])
        )
        self._write_comparison(sweep_dir, written)
        self._log_to_wandb(config, sweep_dir, written)

    def _write_comparison(self, sweep_dir: Path, written: dict[str, list[Path]]) -> None:
        """compare.md (added to `written` as "comparison") and its heatmaps (added to its figures) when the
        sweep has the baseline and something to compare with it; one that cannot be compared is logged,
        not failed."""
        if self.compare_baseline is None:
            return
        from nlp_transfer.results.compare import CompareError, compare_sweep, write_comparison

        try:
            results = compare_sweep(sweep_dir, self.compare_baseline)
            if not results:
                return
            markdown, *figures = write_comparison(
                results, self.compare_baseline, sweep_dir / "compare.md", self.plots
            )
        except CompareError as err:
            log.info("No comparison against %s written: %s", self.compare_baseline, err)
            return
        except Exception:  # as for the table: a problem here must not mask the sweep's outcome
            log.exception("Comparing %s failed; run `nlp-transfer compare` on it.", sweep_dir)
            return
        written["comparison"] = [markdown]
        written["figures"] += figures
        log.info("Paired comparison against %s: %s", self.compare_baseline, markdown)

    def _log_to_wandb(self, config: DictConfig, sweep_dir: Path, written: dict[str, list[Path]]) -> None:
        """With `logger=wandb`: the report as one more run of the sweep's group (offline unless logged in)."""
        wandb_config = (config.get("logger") or {}).get("wandb")
        if wandb_config is None:
            return
        from nlp_transfer.wandb_sweep_summary import log_sweep_summary

        try:
            run_dir = log_sweep_summary(sweep_dir, written, wandb_config.project, wandb_config.mode)
        except Exception:  # W&B trouble must not mask the sweep's outcome either; the files are written
            log.exception("Logging the report of %s to W&B failed; its files are written.", sweep_dir)
            return
        if run_dir is not None:
            log.info("The sweep's report in W&B: group %s, run %s", sweep_group(sweep_dir), run_dir)
