"""Benchmark: one LoRA training step vs one full fine-tuning step, in CPU time (issue 14).

    OMP_NUM_THREADS=1 python scripts/bench_lora_step.py [--repeats 9] [--precision bf16-mixed]
        [--out benchmarks/results/lora_step.json] [hydra overrides for both strategies]

MiniLM with each strategy's default config (conf/strategy/*.yaml), batch 16 of 128-token random-id texts
with random lengths, the trainer's autocast, AdamW. The two steps alternate in one process (A B B A ...),
and each step's process CPU time is read beside its wall time: on a shared CPU the wall time follows the
neighbours' load, the CPU time hardly does. One step of each is also run under torch.profiler to count
its aten operator calls."""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from nlp_transfer.benchmarking import RESULTS_DIR, headline, write_json

STRATEGIES = ("fine_tune", "lora")


def build(strategy: str, overrides: list[str]) -> tuple[Any, torch.optim.Optimizer]:
    """The strategy's module as train.py builds it (backbone=minilm), and AdamW over what trains."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import instantiate

    from nlp_transfer.config import CONFIG_DIR, register_resolvers
    from nlp_transfer.strategy_declaration import constructor_config

    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        cfg = compose(config_name="train", overrides=["backbone=minilm", f"strategy={strategy}", *overrides])
    torch.manual_seed(0)
    module = instantiate(
        constructor_config(cfg.strategy), encoder=instantiate(cfg.backbone.encoder),
        label_names=["negative", "positive"], level="sequence", _convert_="all",
    )  # fmt: skip
    module.train()
    return module, torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=1e-5)


def random_batch(size: int, length: int) -> dict[str, torch.Tensor]:
    """Random ids, lengths uniform in [length/4, length] (one text full length), random labels."""
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(length // 4, length + 1, (size,), generator=generator)
    lengths[0] = length
    mask = (torch.arange(length)[None] < lengths[:, None]).long()
    ids = torch.randint(1000, 30000, (size, length), generator=generator) * mask
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "labels": torch.randint(0, 2, (size,), generator=generator),
    }


def train_step(module: Any, optimizer: torch.optim.Optimizer, batch: dict, bf16: bool) -> None:
    """Forward under the trainer's autocast, backward, optimizer step."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss, _, _ = module.model_step(batch)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def operator_calls(module: Any, optimizer: torch.optim.Optimizer, batch: dict, bf16: bool) -> int:
    """aten operator calls of one training step (torch.profiler)."""
    from torch.profiler import profile

    with profile() as prof:
        train_step(module, optimizer, batch, bf16)
    return sum(event.count for event in prof.key_averages() if event.key.startswith("aten::"))


def interleaved(parts: dict, batch: dict, repeats: int, bf16: bool) -> dict[str, dict[str, list[float]]]:
    """Wall and process-CPU seconds of each strategy's step, alternating the order every repeat."""
    times = {name: {"wall": [], "cpu": []} for name in parts}
    for repeat in range(repeats):
        for name in list(parts) if repeat % 2 == 0 else list(parts)[::-1]:
            wall, cpu = time.perf_counter(), time.process_time()
            train_step(*parts[name], batch, bf16)
            times[name]["wall"].append(time.perf_counter() - wall)
            times[name]["cpu"].append(time.process_time() - cpu)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--precision", default="bf16-mixed", choices=["bf16-mixed", "32-true"])
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "lora_step.json")
    args, overrides = parser.parse_known_args()  # the rest: Hydra overrides for both strategies
    bf16 = args.precision == "bf16-mixed"
    batch = random_batch(args.batch_size, args.max_length)
    parts = {name: build(name, overrides) for name in STRATEGIES}
    calls = {name: operator_calls(*parts[name], batch, bf16) for name in parts}  # also the warm-up
    times = interleaved(parts, batch, args.repeats, bf16)
    rows = {
        name: {f"{kind}_seconds_median": statistics.median(values) for kind, values in times[name].items()}
        | {"aten_calls": calls[name], "runs": times[name]}
        for name in parts
    }
    ratio = rows["lora"]["cpu_seconds_median"] / rows["fine_tune"]["cpu_seconds_median"]
    for name, row in rows.items():
        print(f"{name:10s} CPU {row['cpu_seconds_median']:.3f} s, wall {row['wall_seconds_median']:.3f} s, "
              f"{row['aten_calls']} aten calls")  # fmt: skip
    print(f"LoRA / fine_tune CPU time per step: {ratio:.2f}")
    settings = vars(args) | {"out": str(args.out), "overrides": overrides, "threads": torch.get_num_threads()}
    write_json(
        {
            "benchmark": "LoRA step vs fine_tune step",
            "headline": headline("LoRA step CPU / fine_tune step CPU", ratio, "×", "≤ 1", ratio <= 1),
            "rows": rows,
            "settings": settings,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
