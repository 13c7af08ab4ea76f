"""The speed targets of issues 7 and 14, each read from the JSON its benchmark script writes.

`scripts/bench_all.py` tabulates them: a target's `extract` turns the benchmark's JSON into the cell
"measured" (medians, and the ratio to the baseline measured in the same run) and met (True/False/None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Result = dict[str, Any]


@dataclass(frozen=True)
class Target:
    name: str
    threshold: str
    bench: str  # the key of scripts/bench_all.py's BENCHMARKS whose JSON holds the number
    extract: Callable[[Result], tuple[str, bool | None]]


def _speed_pair(result: Result, slow: str, fast: str, minimum: float) -> tuple[str, bool]:
    """Examples/s of two cases of bench_precision_eval.py and their ratio (fast / slow) against `minimum`."""
    cases = result["cases"]
    ratio = cases[slow]["median"] / cases[fast]["median"]
    text = (
        f"{cases[fast]['examples_per_s']:.1f} vs {cases[slow]['examples_per_s']:.1f} examples/s: {ratio:.2f}×"
    )
    return text, ratio >= minimum


def _eval_sorted(result: Result) -> tuple[str, bool]:
    text, fast_enough = _speed_pair(result, "eval file order", "eval length-sorted", 1.3)
    identical = bool(result["eval_agreement"]["identical"])
    return f"{text}; metrics {'identical' if identical else 'DIFFER'}", fast_enough and identical


def _overhead(result: Result) -> tuple[str, bool | None]:
    cases, ratio = result["cases"], result["headline"]["value"]
    trainer, plain = cases["Lightning Trainer (train.py)"], cases["plain PyTorch loop"]
    setting = result.get("precision", "older script: its plain loop ran fp32")
    speeds = f"{trainer['examples_per_s']:.2f} vs {plain['examples_per_s']:.2f} examples/s"
    text = f"{speeds}: {ratio:.2f}× ({setting})"
    return text, ratio >= 0.97 if "precision" in result else None  # older: batch 32 × 128, not the default


def _end_to_end(case: str) -> Callable[[Result], tuple[str, bool]]:
    def extract(result: Result) -> tuple[str, bool]:
        found = result["cases"][case]
        walls, accuracy = found["wall_seconds"], found["mean_target_acc"]
        text = (
            f"{walls['current']['median']:.0f} s vs {walls['baseline']['median']:.0f} s at "
            f"{result['baseline']['commit']}: {found['speedup']:.2f}×; target acc "
            f"{_acc(accuracy['current'])} vs {_acc(accuracy['baseline'])}"
        )
        return text, bool(found["met"])

    return extract


def _acc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _headline(fmt: str) -> Callable[[Result], tuple[str, bool | None]]:
    """The benchmark's own headline value, formatted with `fmt`, and its own verdict."""

    def extract(result: Result) -> tuple[str, bool | None]:
        line = result["headline"]
        return fmt.format(value=line["value"], unit=line["unit"]), line["met"]

    return extract


def _workers(result: Result) -> tuple[str, bool]:
    walls, accuracy = result["wall_seconds"], result["mean_target_acc"]
    text = (
        f"{walls['workers']['median']:.0f} s vs {walls['one process']['median']:.0f} s: "
        f"{result['headline']['value']:.2f}×; target acc {_acc(accuracy['workers'])} vs "
        f"{_acc(accuracy['one process'])}"
    )
    return text, bool(result["headline"]["met"])


def _memory(result: Result) -> tuple[str, bool]:
    peak = result["peak_rss_mib"]["median"]
    checkpointed = result.get("with_gradient_checkpointing", {}).get("child_peak_rss_mib")
    extra = f" (with gradient checkpointing {checkpointed:.0f} MiB)" if checkpointed else ""
    return f"{peak:.0f} MiB{extra}", peak <= 3 * 1024


def _multirun(result: Result) -> tuple[str, bool]:
    seconds = [job["seconds_to_first_step"] for job in result["jobs"]]
    text = ", ".join(f"job {job['job']}: {s:.1f} s" for job, s in zip(result["jobs"], seconds, strict=True))
    return text, max(seconds[1:]) <= 3.0


def _startup(result: Result) -> tuple[str, bool]:
    wall, cpu = result["cfg_job"]["wall"]["median"], result["cfg_job"]["cpu"]["median"]
    return f"{wall:.2f} s (CPU {cpu:.2f} s)", wall <= 1.5


def _compile(case_prefix: str) -> Callable[[Result], tuple[str, bool]]:
    def extract(result: Result) -> tuple[str, bool]:
        case = next(value for name, value in result["cases"].items() if name.startswith(case_prefix))
        steps = case["step_seconds"]
        text = (
            f"eager {steps['eager']:.2f} s/step, compiled {steps['compiled']:.2f} s/step "
            f"({steps['eager'] / steps['compiled']:.2f}×), compile {case['compile_seconds']:.0f} s, "
            f"break-even {case['break_even_steps'] or 'never'} steps; pays off within one default run: "
            f"{case['pays_off_within_one_default_run']}"
        )
        return text, case["pays_off_within_one_default_run"] == "yes"

    return extract


TARGETS: list[Target] = [
    Target("bf16 vs fp32 training, MiniLM, batch 16 × 256", "≥ 1.4×", "precision",
           lambda r: _speed_pair(r, "train fp32", "train bf16", 1.4)),
    Target("bf16 vs fp32 inference, MiniLM, batch 16 × 256", "≥ 2×", "precision",
           lambda r: _speed_pair(r, "inference fp32", "inference bf16", 2.0)),
    Target("bf16 inference with the CPU attention kernel as measured, every other part as fast as the "
           "matmuls (the bound on the row above)", "≥ 2× for that target to be reachable", "inference_parts",
           _headline("{value:.2f}×")),
    Target("length-sorted vs file-order evaluation (kitchen test)", "≥ 1.3×, identical metrics", "precision",
           _eval_sorted),
    Target("CPU training attention (cheap dropout pattern) vs torch's, MiniLM bf16 step 16 × 256", "≥ 1.1×",
           "attention_dropout", _headline("{value:.2f}×")),
    Target("fused AdamW vs torch's per-tensor loop, MiniLM bf16 training step 16 × 128", "≥ 1.05×",
           "optimizer_step", _headline("{value:.2f}×")),
    Target("fine_tune (Trainer, default config) vs plain PyTorch loop", "≥ 0.97×", "overhead", _overhead),
    Target("end to end: `make train` (logger=none) vs fd7b99e", "≥ 1.8× faster, target acc within 0.03",
           "end_to_end", _end_to_end("make_train")),
    Target("end to end: amazon_grid dann books,dvd → kitchen,electronics vs fd7b99e",
           "≥ 1.8× faster, target acc within 0.03", "end_to_end", _end_to_end("amazon_grid_slice")),
    Target("two one-thread workers vs one process, the same amazon_grid dann slice (issue 14: cheap sweeps)",
           "≥ 1.15×", "sweep_workers", _workers),
    Target("peak RSS, fine-tune batch 32 × 256, default settings", "≤ 3072 MiB", "memory", _memory),
    Target("in-process multirun: later jobs' seconds to first step", "≤ 3 s", "multirun_first_step",
           _multirun),
    Target("`python train.py --cfg job` wall time", "≤ 1.5 s", "startup", _startup),
    Target("torch.compile: MiniLM fine-tune step 16 × 256", "break-even ≤ 172 steps", "compile",
           _compile("fine_tune")),
    Target("torch.compile: DANN step", "break-even ≤ 172 steps", "compile", _compile("dann")),
    Target("length-grouped vs padded-to-256 batches (issue 7)", "≥ 1.5×", "batching",
           _headline("{value:.2f}×")),
    Target("feature cache: cached training / one encoding pass (issue 7)", "≤ 1.2×", "feature_cache",
           _headline("{value:.2f}×")),
    Target("DANN step / source-only step (issue 7)", "≤ 2.1×", "dann_step", _headline("{value:.2f}×")),
]  # fmt: skip
