"""Hyperparameter search with Optuna as a Hydra sweeper, resumable from its storage.

Why our own: hydra-optuna-sweeper 1.3 pins `optuna<3`, whose SQLite storage breaks under SQLAlchemy 2;
this small sweeper runs on the current Optuna. Trials are asked one at a time and launched through
Hydra's launcher (so each trial is an ordinary job with its own run dir and results.json); the job's
return value (the run's `optimized_metric`) is told back. The study lives in a storage (an SQLite
file in the sweep folder by default) under `study_name`: running the same command again resumes it
and only runs the trials still missing. A trial left RUNNING by an interrupted process is marked FAIL.
`direction: auto` takes the objective's own direction (a loss or a lower-is-better validator such as
`selection/entropy` is minimised). Failed trials are retried with new suggestions, but after
`max_failed_trials` failures in one invocation the search stops (its exit code then says so) instead of
looping on a setting that always fails.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)
SEARCH_TYPES = ("float", "int", "categorical")
DIRECTIONS = ("auto", "maximize", "minimize")


def suggest(trial: Any, name: str, spec: dict[str, Any]) -> Any:
    """A value for a search-space entry: {type: float|int, low, high, log} | {type: categorical, choices}."""
    kind = spec.get("type")
    if kind == "float":
        return trial.suggest_float(name, spec["low"], spec["high"], log=spec.get("log", False))
    if kind == "int":
        return trial.suggest_int(name, spec["low"], spec["high"], log=spec.get("log", False))
    if kind == "categorical":
        return trial.suggest_categorical(name, list(spec["choices"]))
    raise ValueError(f"Search space entry {name!r}: type must be one of {SEARCH_TYPES}, got {kind!r}")


class OptunaSweeper(Sweeper):
    def __init__(
        self,
        study_name: str,
        params: dict[str, Any],
        n_trials: int = 20,
        direction: str = "auto",
        storage: str | None = None,
        seed: int = 0,
        max_failed_trials: int | None = None,
    ) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"hydra.sweeper.direction must be one of {DIRECTIONS}, got {direction!r}")
        self.study_name = study_name
        self.params = params
        self.n_trials = n_trials
        self.direction = direction
        self.storage = storage
        self.seed = seed
        self.max_failed_trials = n_trials if max_failed_trials is None else max_failed_trials

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )
        if self.direction == "auto":
            from nlp_transfer.objective import objective_direction

            metric = str(OmegaConf.select(config, "optimized_metric"))
            self.direction = objective_direction(metric, OmegaConf.select(config, "selection"))

    def _study(self, sweep_dir: Path) -> Any:
        import optuna

        storage = self.storage or f"sqlite:///{sweep_dir / 'optuna.db'}"
        study = optuna.create_study(
            study_name=self.study_name, storage=storage, direction=self.direction,
            sampler=optuna.samplers.TPESampler(seed=self.seed), load_if_exists=True,
        )  # fmt: skip
        for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            log.warning("Trial %d was left running by an interrupted search: marking it failed", stale.number)
            study._storage.set_trial_state_values(stale._trial_id, optuna.trial.TrialState.FAIL)
        return study

    def sweep(self, arguments: list[str]) -> list[Any]:
        import optuna

        swept = [a for a in arguments if "," in a.split("=", 1)[-1] and not a.startswith("hydra.")]
        if swept:
            raise ValueError(f"The optuna sweeper takes fixed overrides only; got sweeps {swept}")
        params = (
            OmegaConf.to_container(self.params, resolve=True)
            if isinstance(self.params, DictConfig)
            else self.params
        )
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        study = self._study(sweep_dir)
        complete = optuna.trial.TrialState.COMPLETE
        done = len(study.get_trials(deepcopy=False, states=(complete,)))
        log.info("Study %r: %d of %d trials complete", self.study_name, done, self.n_trials)
        returns = []
        failed = 0
        while done < self.n_trials:
            if failed >= self.max_failed_trials:
                log.error(
                    "Stopping the search: %d trials failed in this run (hydra.sweeper.max_failed_trials); "
                    "their errors are in their results.json", failed,
                )  # fmt: skip
                break
            trial = study.ask()
            overrides = tuple(f"{name}={suggest(trial, name, spec)}" for name, spec in params.items())
            (result,) = self.launcher.launch([overrides + tuple(arguments)], initial_job_idx=trial.number)
            returns.append(result)
            value = result.return_value if result.status.name == "COMPLETED" else None
            if value is None or not math.isfinite(value):
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                failed += 1
            else:
                study.tell(trial, value)
                done += 1
        best = study.best_trial if done else None
        summary = {
            "study_name": self.study_name,
            "direction": self.direction,
            "complete_trials": done,
            "best_value": best.value if best else None,
            "best_params": best.params if best else None,
        }
        OmegaConf.save(OmegaConf.create(summary), sweep_dir / "optimization_results.yaml")
        log.info("Best trial: %s", summary)
        return returns
