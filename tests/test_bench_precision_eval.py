"""scripts/bench_precision_eval.py runs end to end (tiny backbone, one repeat) and writes its JSON."""

from __future__ import annotations

import json
import subprocess
import sys

from nlp_transfer.config import PROJECT_ROOT


def test_the_precision_benchmark_smoke_run_writes_ratios_and_an_agreeing_evaluation(tmp_path) -> None:
    out = tmp_path / "precision.json"
    command = [
        sys.executable, str(PROJECT_ROOT / "scripts" / "bench_precision_eval.py"), "--backbone", "tiny",
        "--repeats", "1", "--steps", "1", "--length", "64", "--eval-examples", "80", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    steps = {f"{kind} {precision}" for kind in ("train", "inference") for precision in ("fp32", "bf16")}
    assert set(result["cases"]) == steps | {"eval file order", "eval length-sorted"}
    assert all(case["examples_per_s"] > 0 for case in result["cases"].values())
    assert set(result["ratios"]) == {
        "train bf16 / fp32 speed", "inference bf16 / fp32 speed", "eval sorted / file order speed",
    }  # fmt: skip
    # 80 reviews: a batch of 64 and one of 16, composed differently when sorted; same numbers
    assert result["eval_agreement"]["identical"] is True
    assert result["headline"]["name"].startswith("bf16 / fp32")
