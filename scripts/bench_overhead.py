"""Benchmark: framework overhead, `fine_tune` through train.py's Lightning Trainer vs a plain PyTorch loop.

    python scripts/bench_overhead.py [--steps 8] [--warmup 2] [--repeats 3]
        [--out benchmarks/results/overhead.json] [--profile benchmarks/results/overhead_profile.txt]

Both cases train the same FineTuneModule (MiniLM, Amazon books, the default config: batch 16, 256
tokens, the default precision: bf16 autocast where the CPU has it natively) from the same initial
weights, on the same batches from the same DataLoader (same sampler seed; the script checks the batch
shapes agree), with the same AdamW parameter groups, linear warm-up/decay schedule and gradient clipping
(norm 1.0); the plain loop runs forward and loss under the same autocast as the Trainer's precision
plugin (backward outside it). Only the measured steps count: the clock starts when warm-up step
`--warmup` ends and stops when the last step ends, so fit() set-up is excluded (`bench_startup.py`
measures start-up).
The two cases alternate between repeats (A B, B A, ...) so a neighbour's load hits both alike.

The Trainer is built as train.py builds it: the composed config's trainer, callbacks (progress bar,
NaN-loss guard, throughput monitor) and DataModule. What differs, to keep the comparison about the step:
no experiment logger (train.py logs to W&B by default), no checkpoint callback, no validation.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import io
import pstats
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from nlp_transfer.benchmarking import RESULTS_DIR, headline, report, summarize, write_json

TARGET = 0.97  # Trainer examples/s ≥ 0.97 × the plain loop at the default config (issue 14; 0.95 in issue 7)


class StepClock:
    """Timestamps at the end of every training step (append it last: every other callback runs first)."""

    def __init__(self) -> None:
        import pytorch_lightning as pl

        class _Clock(pl.Callback):
            def on_train_batch_end(
                _, trainer: Any, pl_module: Any, outputs: Any, batch: Any, idx: int
            ) -> None:
                self.ends.append(clock_now())
                self.sizes.append(tuple(batch["source"]["input_ids"].shape))

        self.callback = _Clock()
        self.ends: list[tuple[float, float]] = []
        self.sizes: list[tuple[int, ...]] = []


def compose(args: argparse.Namespace, output_dir: Path) -> Any:
    """The config `python train.py <overrides>` would run, with the benchmark's settings."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from nlp_transfer.config import CONFIG_DIR, register_resolvers

    register_resolvers()
    overrides = [
        f"backbone={args.backbone}", "strategy=fine_tune", "task=sentiment", "domain.source=books",
        *([f"task.batch_size={args.batch_size}"] if args.batch_size else []),
        *([f"task.max_length={args.max_length}"] if args.max_length else []),
        f"paths.cache_dir={args.cache_dir}", "logger=none",
        f"trainer.max_steps={args.warmup + args.steps}", "trainer.max_epochs=-1",
        "trainer.limit_val_batches=0", "+trainer.enable_checkpointing=false",
        "trainer.enable_model_summary=false", *args.overrides,
    ]  # fmt: skip
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        cfg = hydra_compose(config_name="train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def trainer_run(cfg: Any, model: Any, datamodule: Any, warmup: int, seed: int) -> tuple[float, list, float]:
    """One fit() through the config's Trainer: ((wall, CPU) seconds measured, batch shapes, fit() seconds)."""
    from pytorch_lightning.callbacks import Checkpoint

    from nlp_transfer.assembly import build_callbacks, instantiate

    clock = StepClock()
    callbacks = [c for c in build_callbacks(cfg) if not isinstance(c, Checkpoint)]  # checkpointing off
    trainer = instantiate(cfg.trainer, callbacks=[*callbacks, clock.callback], logger=False)
    torch.manual_seed(seed)  # the length-grouped sampler takes its seed from torch when fit() builds it
    start = time.perf_counter()
    trainer.fit(model, datamodule=datamodule)
    fit_seconds = time.perf_counter() - start
    return measured(clock.ends, cfg.trainer.max_steps, warmup), clock.sizes, fit_seconds


def plain_run(
    model: Any, datamodule: Any, total_steps: int, warmup: int, clip: float, seed: int, bf16: bool = False
) -> tuple[float, list, float]:
    """The same steps as a hand-written loop: forward, loss, backward, clip, step, zero_grad, schedule.

    `bf16`: forward and loss under CPU bf16 autocast, as Lightning's `bf16-mixed` plugin runs them."""
    from nlp_transfer.strategies.optimization import decay_groups

    start = time.perf_counter()
    optimizer = model.optimizer_factory(decay_groups(model.named_parameters(), model.weight_decay))
    scheduler = (
        model.scheduler_factory(optimizer, total_steps=total_steps) if model.scheduler_factory else None
    )
    torch.manual_seed(seed)
    datamodule.trainer = (
        None  # samplers take their epoch from an attached Trainer: start at epoch 0, as fit() does
    )
    loader = datamodule.train_dataloader().iterables["source"]
    model.train()
    ends, sizes = [], []
    for batch in loader:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model.supervised_loss(model(batch), batch["labels"])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        optimizer.zero_grad()
        if scheduler is not None:
            scheduler.step()
        ends.append(clock_now())
        sizes.append(tuple(batch["input_ids"].shape))
        if len(ends) == total_steps:
            break
    return measured(ends, total_steps, warmup), sizes, time.perf_counter() - start


def clock_now() -> tuple[float, float]:
    """Wall time and this process's CPU time (all threads): CPU time barely moves with a neighbour's load."""
    return time.perf_counter(), time.process_time()


def measured(ends: list[tuple[float, float]], total_steps: int, warmup: int) -> tuple[float, float]:
    """Seconds from the end of the last warm-up step to the end of the last step."""
    if len(ends) != total_steps:
        raise RuntimeError(
            f"expected {total_steps} training steps, saw {len(ends)}: is the train split too small?"
        )
    (wall_start, cpu_start), (wall_end, cpu_end) = ends[warmup - 1], ends[-1]
    return wall_end - wall_start, cpu_end - cpu_start


def profile_trainer(cfg: Any, model: Any, datamodule: Any, initial: dict, warmup: int, path: Path) -> None:
    """cProfile one Trainer fit(): the functions with the most own time, to see what the Trainer adds."""
    model.load_state_dict(initial)
    profiler = cProfile.Profile()
    profiler.enable()
    trainer_run(cfg, model, datamodule, warmup, seed=0)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).sort_stats("tottime")
    stats.print_stats(30)
    stats.sort_stats("cumulative").print_stats("pytorch_lightning|nlp_transfer|rich", 30)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.getvalue())
    print(f"wrote profile {path}")


PLAIN, LIGHTNING = "plain PyTorch loop", "Lightning Trainer (train.py)"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the task's (16)")
    parser.add_argument("--max-length", type=int, default=None, help="default: the task's (256)")
    parser.add_argument("--steps", type=int, default=8, help="measured steps per run")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured steps at the start of each run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup-runs", type=int, default=1, help="whole unmeasured runs of each case first")
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "nlp_transfer_bench_cache"))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "overhead.json")
    parser.add_argument(
        "--profile", type=Path, default=None, help="also cProfile one Trainer run into this file"
    )
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides (callbacks.progress_bar=null)")
    args = parser.parse_args()
    if args.warmup < 1 or args.steps < 1:
        parser.error("--warmup and --steps must be at least 1 (the clock starts when warm-up ends)")
    return args


def interleaved_runs(args: argparse.Namespace, cfg: Any, model: Any, datamodule: Any, initial: dict) -> dict:
    """Both cases, alternating which goes first, after `--warmup-runs` unkept runs of each:
    {"wall"|"cpu"|"fit": {case: [seconds per repeat]}, "shapes": {case: [batch shapes per repeat]}}."""
    total = args.warmup + args.steps
    clip = float(cfg.trainer.gradient_clip_val or float("inf"))
    bf16 = str(cfg.trainer.precision).startswith("bf16")
    kept: dict[str, dict[str, list]] = {
        key: {PLAIN: [], LIGHTNING: []} for key in ("wall", "cpu", "fit", "shapes")
    }
    for repeat in range(-args.warmup_runs, args.repeats):  # negative: whole runs to warm up, not kept
        cases = [PLAIN, LIGHTNING] if repeat % 2 == 0 else [LIGHTNING, PLAIN]
        seed = repeat + args.warmup_runs
        for case in cases:
            model.load_state_dict(initial)
            if case == PLAIN:
                (seconds, cpu), sizes, fit = plain_run(
                    model, datamodule, total, args.warmup, clip, seed=seed, bf16=bf16
                )
            else:
                (seconds, cpu), sizes, fit = trainer_run(cfg, model, datamodule, args.warmup, seed=seed)
            if repeat < 0:
                continue
            for key, value in (("wall", seconds), ("cpu", cpu), ("fit", fit), ("shapes", sizes)):
                kept[key][case].append(value)
            print(f"repeat {repeat + 1}/{args.repeats} {case}: {seconds:.2f} s, {cpu:.2f} CPU s")
    if kept["shapes"][PLAIN] != kept["shapes"][LIGHTNING]:
        raise RuntimeError(f"the two cases saw different batches: {kept['shapes']}")
    return kept


def write_result(args: argparse.Namespace, cfg: Any, kept: dict) -> dict:
    """Medians, examples/s, the paired Trainer / plain-loop ratios (wall and CPU); print and return them."""
    times, shapes = kept["wall"], kept["shapes"]
    examples = [sum(size[0] for size in sizes[args.warmup :]) for sizes in shapes[PLAIN]]
    rows = {case: summarize(values) for case, values in times.items()}
    for case, stats in rows.items():
        stats["examples_per_s"] = statistics.median(n / t for n, t in zip(examples, times[case], strict=True))
        stats["fit_call_seconds_median"] = summarize(kept["fit"][case])["median"]
        stats["cpu_seconds"] = summarize(kept["cpu"][case])
    # paired per repeat (both cases of a repeat saw the same batches): Trainer speed / plain loop speed
    ratio = statistics.median(p / t for p, t in zip(times[PLAIN], times[LIGHTNING], strict=True))
    cpu_ratio = statistics.median(
        p / t for p, t in zip(kept["cpu"][PLAIN], kept["cpu"][LIGHTNING], strict=True)
    )
    result = report(
        f"fine_tune, {args.backbone}, Amazon books, batch {cfg.task.batch_size}, "
        f"{cfg.task.max_length} tokens, {cfg.trainer.precision}, "
        f"{args.steps} steps after {args.warmup} warm-up",
        rows,
        baseline=PLAIN,
        summary=headline("Trainer / plain loop examples/s", ratio, "×", f"≥ {TARGET}", ratio >= TARGET),
        out=None,
    )
    print(f"same ratio in CPU seconds (less sensitive to other jobs on the machine): {cpu_ratio:.3f}")
    result["cpu_time_ratio"] = cpu_ratio
    result["precision"] = str(cfg.trainer.precision)
    result["batch_shapes"] = [list(s) for s in shapes[PLAIN][0]]
    result["trainer_extra_seconds_per_step"] = (
        rows[LIGHTNING]["median"] - rows[PLAIN]["median"]
    ) / args.steps
    result["settings"] = vars(args) | {"out": str(args.out), "profile": str(args.profile)}
    return result


def main() -> None:
    args = parse_args()
    warnings.filterwarnings("ignore", ".*does not have many workers.*")

    from nlp_transfer.assembly import build_data_and_model

    with tempfile.TemporaryDirectory() as output_dir:
        cfg = compose(args, Path(output_dir))
        torch.manual_seed(0)
        datamodule, model = build_data_and_model(cfg)
        initial = copy.deepcopy(model.state_dict())
        result = write_result(args, cfg, interleaved_runs(args, cfg, model, datamodule, initial))
        if args.profile is not None:
            profile_trainer(cfg, model, datamodule, initial, args.warmup, args.profile)
            result["profile"] = str(args.profile)
        write_json(result, args.out)


if __name__ == "__main__":
    main()
