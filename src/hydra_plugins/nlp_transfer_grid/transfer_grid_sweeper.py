r"""Hydra's grid sweep, minus the jobs a source-only strategy would only repeat.

A strategy that never trains on target data (its yaml declares `uses_target_data: false`, as its class
does: fine_tune, feature_extraction, ...) learns the same model for every target of a source, so the
grid's jobs that differ only in `domain.target` are one training. This sweeper expands the grid exactly
as Hydra's BasicSweeper does (comma lists, `range()`, `hydra.sweeper.params`, every seed), then merges
each such group into one job with `evaluate_on=all_domains`, whose model is tested on every domain of
the task; `nlp-transfer results` spreads it back over the group's cells. Jobs of target-using strategies
(dann, ...), jobs with few-shot target training, with a checkpoint not chosen on source data, or with an
explicit `evaluate_on`, run as given. Every launched job's config is composed before the first one
starts, so an unknown override fails at once, as with the basic sweeper. It reads only config: no
strategy module is imported.

`layout=leave_one_out` (multi-source adaptation) turns the swept `domain.target` values D into a
leave-one-domain-out grid: every job of the grid with target t gets `domain.source=[D \ {t}]` (the other
domains pooled), and source-only strategies also get the single-source jobs s → t for every s in D \ {t}
(merged as above into one job per source), which give the table's best-single-source rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException

from nlp_transfer.objective import checkpoint_chosen_on_source
from nlp_transfer.strategy_declaration import declared_uses_target_data

log = logging.getLogger(__name__)
TARGET_KEY = "domain.target"
EVALUATE_ON_KEY = "evaluate_on"
# plain values that cannot change which strategy runs, few-shot training or checkpoint selection:
# jobs differing only in these share one decision (composing a config costs about 0.3 s)
SOURCE_KEY = "domain.source"
DECISION_FREE_KEYS = frozenset({TARGET_KEY, SOURCE_KEY, "seed"})
LAYOUTS = ("grid", "leave_one_out")


def override_key(override: str) -> str:
    """`domain.target` from `domain.target=dvd` (also from `+domain.target=…`, `++…`)."""
    return override.split("=", 1)[0].lstrip("+~")


def merge_target_jobs(jobs: list[list[str]], source_only: Callable[[list[str]], bool]) -> list[list[str]]:
    """Merge jobs that differ only in `domain.target` into their first, tested on all domains.

    A group merges when it has several jobs, sets no `evaluate_on` itself, and `source_only(first job)`.
    Other jobs keep their place and overrides; a merged job takes the place of its group's first job.
    """
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, job in enumerate(jobs):
        if any(override_key(o) == TARGET_KEY for o in job):
            rest = tuple(o for o in job if override_key(o) != TARGET_KEY)
            groups.setdefault(rest, []).append(index)
    merged_into: dict[int, int] = {}  # job index → the first job of its merged group
    for rest, members in groups.items():
        mergeable = len(members) > 1 and not any(override_key(o) == EVALUATE_ON_KEY for o in rest)
        if mergeable and source_only(jobs[members[0]]):
            merged_into |= {m: members[0] for m in members}
    planned = []
    for index, job in enumerate(jobs):
        if index not in merged_into:
            planned.append(list(job))
        elif merged_into[index] == index:
            planned.append([*job, f"{EVALUATE_ON_KEY}=all_domains"])
    return planned


def leave_one_out_jobs(jobs: list[list[str]], source_only: Callable[[list[str]], bool]) -> list[list[str]]:
    """Every domain of the swept `domain.target` as target, the rest as pooled sources (see module doc).

    Each grid job becomes its pooled-sources job, followed, when `source_only(job)`, by one job per single
    source (to be merged per source by `merge_target_jobs`).

    Raises:
        HydraException: fewer than 3 swept targets, or a job that sets `domain.source` itself.
    """
    domains = list(
        dict.fromkeys(o.split("=", 1)[1] for job in jobs for o in job if override_key(o) == TARGET_KEY)
    )
    if len(domains) < 3:
        raise HydraException(
            f"hydra.sweeper.layout=leave_one_out needs domain.target to sweep at least 3 domains (each one "
            f"the target, the others its sources), got {domains}; "
            "e.g. domain.target=books,dvd,electronics,kitchen"
        )
    planned = []
    for job in jobs:
        if any(override_key(o) == SOURCE_KEY for o in job):
            raise HydraException(
                "hydra.sweeper.layout=leave_one_out sets domain.source itself (the domains other than the "
                f"target); drop domain.source from the command (job: {job})."
            )
        target = next(o.split("=", 1)[1] for o in job if override_key(o) == TARGET_KEY)
        sources = [d for d in domains if d != target]
        planned.append([*job, f"{SOURCE_KEY}=[{','.join(sources)}]"])
        if source_only(job):
            planned += [[*job, f"{SOURCE_KEY}={source}"] for source in sources]
    return planned


class TransferGridSweeper(BasicSweeper):
    """BasicSweeper's grid with one job per source (and other settings) for source-only strategies.

    Args:
        max_batch_size: jobs handed to the launcher at once (None: all), as in BasicSweeper.
        params: sweep parameters from config (`hydra.sweeper.params`), as in BasicSweeper.
        merge_source_only: false gives exactly the basic grid.
        layout: `grid` (the given combinations) or `leave_one_out` (see the module docstring).
    """

    def __init__(
        self,
        max_batch_size: int | None = None,
        params: dict[str, str] | None = None,
        merge_source_only: bool = True,
        layout: str = "grid",
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        if layout not in LAYOUTS:
            raise HydraException(f"hydra.sweeper.layout must be one of {LAYOUTS}, got {layout!r}")
        self.merge_source_only = merge_source_only
        self.layout = layout
        self._decisions: dict[tuple[str, ...], bool] = {}

    def _source_only(self, job: list[str]) -> bool:
        """Whether this job's model cannot depend on its target, read from its config as it will compose."""
        key = tuple(o for o in job if override_key(o) not in DECISION_FREE_KEYS)
        if key not in self._decisions:
            assert self.hydra_context is not None and self.config is not None
            cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(job))
            self._decisions[key] = (
                not declared_uses_target_data(cfg.strategy)  # conf/strategy/<name>.yaml says it
                and not cfg.get("target_finetune")  # a few-shot phase trains on target labels
                and checkpoint_chosen_on_source(cfg)
            )
        return self._decisions[key]

    def split_arguments(  # type: ignore[override]  # an instance method here: it composes job configs
        self, overrides: list[Override], max_batch_size: int | None
    ) -> list[list[list[str]]]:
        (grid,) = BasicSweeper.split_arguments(overrides, None)
        if self.layout == "leave_one_out":
            grid = leave_one_out_jobs(grid, self._source_only)
        jobs = merge_target_jobs(grid, self._source_only) if self.merge_source_only else grid
        shared = sum(f"{EVALUATE_ON_KEY}=all_domains" in job for job in jobs)
        log.info(
            "Transfer grid: %d combinations, %d jobs launched (%d trained once per source, tested on all "
            "domains)", len(grid), len(jobs), shared,
        )  # fmt: skip
        return [list(chunk) for chunk in self.split_overrides_to_chunks(jobs, max_batch_size)]

    def plan(self, arguments: Sequence[str]) -> list[list[str]]:
        """The jobs `sweep(arguments)` would launch, in order (nothing runs)."""
        from hydra.core.override_parser.overrides_parser import OverridesParser

        assert self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides([*self._parse_config(), *arguments])
        return [job for batch in self.split_arguments(overrides, None) for job in batch]
