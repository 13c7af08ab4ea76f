"""The transfer_grid sweeper's plan: Hydra's grid, with source-only strategies trained once per source."""

from __future__ import annotations

from collections import Counter

import pytest
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.utils import create_config_search_path
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException
from hydra.types import HydraContext, RunMode
from hydra.utils import instantiate

from hydra_plugins.nlp_transfer_grid.transfer_grid_sweeper import TransferGridSweeper, merge_target_jobs
from nlp_transfer.config import CONFIG_DIR

DOMAINS = ["books", "dvd", "electronics", "kitchen"]


def plan(*overrides: str) -> list[list[str]]:
    """The jobs `python train.py -m <overrides>` would launch with the transfer_grid sweeper."""
    from hydra._internal.callbacks import Callbacks

    loader = ConfigLoaderImpl(config_search_path=create_config_search_path(str(CONFIG_DIR)))
    cfg = loader.load_configuration("train", overrides=list(overrides), run_mode=RunMode.MULTIRUN)
    HydraConfig.instance().set_config(cfg)
    sweeper = instantiate(cfg.hydra.sweeper)
    # Hydra's plugin scan may load the module a second time: compare the class by name
    assert type(sweeper).__qualname__ == TransferGridSweeper.__qualname__
    sweeper.setup(
        hydra_context=HydraContext(config_loader=loader, callbacks=Callbacks()),
        task_function=lambda _: None,
        config=cfg,
    )
    return sweeper.plan(list(cfg.hydra.overrides.task))


def values(job: list[str]) -> dict[str, str]:
    return dict(o.split("=", 1) for o in job)


def test_the_amazon_grid_trains_source_only_strategies_once_per_source() -> None:
    jobs = [values(job) for job in plan("experiment=amazon_grid")]
    assert len(jobs) == 4 + 4 + 16
    for strategy in ("fine_tune", "feature_extraction"):
        merged = [j for j in jobs if j["strategy"] == strategy]
        assert [j["domain.source"] for j in merged] == DOMAINS
        assert all(j["evaluate_on"] == "all_domains" and j["domain.target"] == "books" for j in merged)
    dann = [(j["domain.source"], j["domain.target"]) for j in jobs if j["strategy"] == "dann"]
    assert dann == [(s, t) for s in DOMAINS for t in DOMAINS]
    assert not any("evaluate_on" in j for j in jobs if j["strategy"] == "dann")


def test_every_strategy_times_every_pair_is_one_command() -> None:
    domains = "books,dvd,electronics,kitchen"
    grid = plan("hydra/sweeper=transfer_grid", "strategy=glob(*)", f"domain.source={domains}",
                f"domain.target={domains}")  # fmt: skip
    per_strategy = Counter(values(job)["strategy"] for job in grid)
    source_only = {"fine_tune", "feature_extraction", "gradual_unfreeze", "lora"}
    target_using = {"dann", "cdan", "mmd", "coral", "udalm", "dann_multi_source", "mcc", "bnm",
                    "self_training"}  # fmt: skip
    assert {s for s, n in per_strategy.items() if n == 4} == source_only  # one job per source
    assert {s for s, n in per_strategy.items() if n == 16} == target_using
    assert len(grid) == 4 * 4 + len(target_using) * 16


def test_every_seed_gets_its_own_merged_jobs_and_merging_can_be_switched_off() -> None:
    jobs = [values(j) for j in plan("experiment=amazon_grid", "strategy=fine_tune", "seed=1,2")]
    assert sorted((j["seed"], j["domain.source"]) for j in jobs) == sorted(
        (seed, s) for seed in ("1", "2") for s in DOMAINS
    )
    basic = plan("experiment=amazon_grid", "strategy=fine_tune", "hydra.sweeper.merge_source_only=false")
    assert len(basic) == 16 and not any("evaluate_on=all_domains" in job for job in basic)


def test_an_explicit_evaluate_on_or_a_few_shot_phase_keeps_one_job_per_pair() -> None:
    grid = ["hydra/sweeper=transfer_grid", "strategy=fine_tune"] + [
        f"domain.{role}=books,dvd" for role in ("source", "target")
    ]
    assert len(plan(*grid, "evaluate_on=pair")) == 4
    assert len(plan(*grid, "target_finetune=few_shot")) == 4
    assert len(plan(*grid)) == 2


def test_an_unknown_override_fails_before_any_job() -> None:
    with pytest.raises(ConfigCompositionException, match="no_such_key"):
        plan("experiment=amazon_grid", "strategy=fine_tune", "no_such_key=1,2")


def test_merging_keeps_the_order_of_unmerged_jobs() -> None:
    jobs = [
        [f"strategy={s}", f"domain.target={t}", f"domain.source={src}"]
        for s in ("dann", "fine_tune") for t in ("a", "b") for src in ("x", "y")
    ]  # fmt: skip
    planned = merge_target_jobs(jobs, lambda job: "strategy=fine_tune" in job)
    assert planned == jobs[:4] + [
        ["strategy=fine_tune", "domain.target=a", "domain.source=x", "evaluate_on=all_domains"],
        ["strategy=fine_tune", "domain.target=a", "domain.source=y", "evaluate_on=all_domains"],
    ]


def test_a_job_without_a_target_sweep_is_left_alone() -> None:
    jobs = [["strategy=fine_tune", "seed=1"], ["strategy=fine_tune", "seed=2"]]
    assert merge_target_jobs(jobs, lambda job: True) == jobs


def test_the_sweeper_takes_uses_target_data_from_the_strategy_config() -> None:
    grid = ["hydra/sweeper=transfer_grid", "strategy=fine_tune", "domain.source=books,dvd",
            "domain.target=books,dvd"]  # fmt: skip
    assert len(plan(*grid)) == 2
    # the same class, declared target-using in config: one job per pair (no module is read)
    declared = plan(*grid, "strategy.uses_target_data=true")
    assert len(declared) == 4 and not any("evaluate_on=all_domains" in job for job in declared)


def test_a_strategy_config_without_the_declaration_fails_before_any_job() -> None:
    with pytest.raises(ValueError, match="must declare `uses_target_data: true|false`"):
        plan("hydra/sweeper=transfer_grid", "strategy=fine_tune", "~strategy.uses_target_data",
             "domain.target=books,dvd")  # fmt: skip


def test_leave_one_out_pools_the_other_domains_and_adds_single_sources_for_source_only_strategies() -> None:
    jobs = [values(job) for job in plan("experiment=leave_one_out")]
    pooled = {
        (j["strategy"], j["domain.target"]): j["domain.source"] for j in jobs if "[" in j["domain.source"]
    }
    for target in DOMAINS:
        others = f"[{','.join(d for d in DOMAINS if d != target)}]"
        assert pooled[("fine_tune", target)] == pooled[("dann_multi_source", target)] == others
    assert len(pooled) == 8 and not any("evaluate_on" in j for j in jobs if "[" in j["domain.source"])
    single = [j for j in jobs if "[" not in j["domain.source"]]
    assert sorted(j["domain.source"] for j in single) == DOMAINS  # fine_tune once per single source
    assert all(j["strategy"] == "fine_tune" and j["evaluate_on"] == "all_domains" for j in single)
    assert len(jobs) == 12


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["domain.target=books,dvd"], "at least 3 domains"),
        (["domain.target=books,dvd,kitchen", "domain.source=books"], "sets domain.source itself"),
    ],
)
def test_leave_one_out_refuses_too_few_domains_or_a_given_source(overrides, message) -> None:
    with pytest.raises(Exception, match=message):
        plan(
            "hydra/sweeper=transfer_grid",
            "hydra.sweeper.layout=leave_one_out",
            "strategy=fine_tune",
            *overrides,
        )
