"""Multi-process DDP under Hydra: one run dir for all ranks, and rank-0-only side effects.

Lightning's `ddp` strategy starts ranks 1…N-1 by re-running the command line. Under Hydra it appends
`hydra.run.dir=<run dir>` to `sys.argv`, which breaks in two ways: in a multirun the children get `-m` and
the sweep's overrides (each child would start a whole sweep) and the *run* dir instead of the job's sweep
subfolder. `HydraDDPStrategy` starts each child as a single run of exactly this job: the job's own
overrides and `hydra.run.dir=<this job's output dir>`, so every rank shares one run dir.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from pytorch_lightning.strategies import DDPStrategy
from pytorch_lightning.strategies.launchers.subprocess_script import _SubprocessScriptLauncher


def global_rank() -> int:
    """This process's rank (0 without DDP); Lightning sets it from the launcher's or SLURM's env."""
    from pytorch_lightning.utilities.rank_zero import rank_zero_only

    return int(getattr(rank_zero_only, "rank", 0) or 0)


def gathered(items: list[Any]) -> list[Any]:
    """Every DDP rank's `items`, concatenated in rank order (all ranks must call it: a collective);
    this process's own `items` when no process group is running."""
    import torch

    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return items
    shards: list[Any] = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(shards, items)
    return [item for shard in shards for item in shard]


def hydra_child_command(local_rank: int) -> tuple[list[str], str]:
    """The command line that re-runs this Hydra job as rank `local_rank`, and its working dir."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import get_original_cwd, to_absolute_path

    import __main__

    hydra_cfg = HydraConfig.get()
    if __main__.__spec__ is None:
        command = [sys.executable, to_absolute_path(sys.argv[0])]
    else:
        command = [sys.executable, "-m", __main__.__spec__.name]
    command += list(hydra_cfg.overrides.task)  # this job's own overrides (no -m, no sweep lists)
    command += [
        f'hydra.run.dir="{hydra_cfg.runtime.output_dir}"',
        f"hydra.job.name={hydra_cfg.job.name}_rank{local_rank}",  # its log: <run dir>/<name>_rank1.log
        "hydra.output_subdir=null",  # rank 0 already wrote .hydra/
    ]
    if hydra_cfg.job.get("config_name"):
        command.append(f"--config-name={hydra_cfg.job.config_name}")
    return command, get_original_cwd()


class _HydraScriptLauncher(_SubprocessScriptLauncher):
    """Lightning's script launcher with the child command of `hydra_child_command`."""

    def _call_children_scripts(self) -> None:
        from hydra.core.hydra_config import HydraConfig

        if not HydraConfig.initialized():
            super()._call_children_scripts()
            return
        self._check_can_spawn_children()
        self.procs = []
        env = _rank_environment(self)
        for local_rank in range(1, self.num_processes):
            command, cwd = hydra_child_command(local_rank)
            self.procs.append(subprocess.Popen(command, env={**env, "LOCAL_RANK": str(local_rank)}, cwd=cwd))


def _rank_environment(launcher: _SubprocessScriptLauncher) -> dict[str, str]:
    """The variables torch.distributed needs, set here and passed on (as Lightning's launcher does)."""
    import os

    cluster = launcher.cluster_environment
    os.environ["MASTER_ADDR"] = cluster.main_address
    os.environ["MASTER_PORT"] = str(cluster.main_port)
    os.environ["NODE_RANK"] = str(cluster.node_rank())
    os.environ["LOCAL_RANK"] = str(cluster.local_rank())
    os.environ["WORLD_SIZE"] = str(launcher.num_processes * launcher.num_nodes)
    return dict(os.environ)


class HydraDDPStrategy(DDPStrategy):
    """`DDPStrategy` whose child processes join the parent's Hydra run dir (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("start_method", "popen")
        super().__init__(**kwargs)

    def _configure_launcher(self) -> None:
        super()._configure_launcher()
        if isinstance(self._launcher, _SubprocessScriptLauncher):
            self._launcher = _HydraScriptLauncher(
                self.cluster_environment, self.num_processes, self.num_nodes
            )
