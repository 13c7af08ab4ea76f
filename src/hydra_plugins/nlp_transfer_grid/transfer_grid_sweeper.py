"""Hydra's grid sweep, minus the jobs a source-only strategy would only repeat.

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
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.types import Override

from nlp_transfer.objective import checkpoint_chosen_on_source
from nlp_transfer.strategy_declaration import declared_uses_target_data

log = logging.getLogger(__name__)
TARGET_KEY = "domain.target"
EVALUATE_ON_KEY = "evaluate_on"
# plain values that cannot change which strategy runs, few-shot training or checkpoint selection:
# jobs differing only in these share one decision (composing a config costs about 0.3 s)
DECISION_FREE_KEYS = frozenset({TARGET_KEY, "domain.source", "seed"})


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


class TransferGridSweeper(BasicSweeper):
    """BasicSweeper's grid with one job per source (and other settings) for source-only strategies.

    Args:
        max_batch_size: jobs handed to the launcher at once (None: all), as in BasicSweeper.
        params: sweep parameters from config (`hydra.sweeper.params`), as in BasicSweeper.
        merge_source_only: false gives exactly the basic grid.
    """

    def __init__(
        self,
        max_batch_size: int | None = None,
        params: dict[str, str] | None = None,
        merge_source_only: bool = True,
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.merge_source_only = merge_source_only
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
