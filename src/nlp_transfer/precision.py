"""The trainer's numeric precision: bf16 autocast where the hardware computes bf16 natively, else fp32.

`trainer.precision` defaults to `${auto_precision:${.accelerator}}` (conf/trainer/default.yaml), which
resolves, when the job's config is resolved, to

* `bf16-mixed` on a CUDA GPU that supports bf16 (Ampere or newer),
* `bf16-mixed` on a CPU with native bf16 arithmetic: the `avx512_bf16` or `amx_bf16` flag (Intel
  Cooper Lake / Sapphire Rapids and newer, AMD Zen 4 and newer). Lightning's CPU autocast then runs
  the matmuls in bf16 (about 1.5× faster training and 2.4× faster inference for MiniLM on such a CPU),
* `32-true` everywhere else (older CPUs emulate bf16 and run slower than fp32; MPS, TPU, ...).

An explicit `trainer.precision=32-true` (or any Lightning value) replaces the interpolation and wins.
Because the resolved config holds the chosen value, the run-identity fingerprint, results.json's
`config.resolved` and W&B all see `bf16-mixed` / `32-true`, never `auto`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: CPU flags (as /proc/cpuinfo names them) of native bf16 arithmetic, which autocast's bf16 kernels use
CPU_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
BF16 = "bf16-mixed"
FP32 = "32-true"
CPUINFO = Path("/proc/cpuinfo")


def auto_precision(accelerator: str, cpu_flags: Iterable[str], cuda_available: bool, cuda_bf16: bool) -> str:
    """The precision `auto` stands for: a pure function of the accelerator asked for and the hardware.

    `accelerator` is Lightning's (`cpu`, `gpu`/`cuda`, `auto`, `mps`, ...); `auto` means the GPU when
    CUDA is available, as Lightning picks it.
    """
    accelerator = str(accelerator).lower()
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and cuda_available):
        return BF16 if cuda_available and cuda_bf16 else FP32
    if accelerator in ("cpu", "auto"):
        return BF16 if CPU_BF16_FLAGS & set(cpu_flags) else FP32
    return FP32


def cpu_flags(cpuinfo: Path = CPUINFO) -> set[str]:
    """This CPU's feature flags: /proc/cpuinfo's `flags` line (Linux x86), else torch's own queries."""
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("flags"):
                return set(line.partition(":")[2].split())
    except OSError:
        pass
    import torch

    flags = set()
    if getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)():
        flags.add("avx512_bf16")
    if getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)():
        flags.add("amx_bf16")  # every AMX CPU so far has the bf16 tile instructions
    return flags


def resolve_precision(accelerator: str = "auto") -> str:
    """`auto_precision` on this machine (the `${auto_precision:…}` resolver)."""
    import torch

    cuda_available = torch.cuda.is_available()
    cuda_bf16 = cuda_available and torch.cuda.is_bf16_supported()
    return auto_precision(accelerator, cpu_flags(), cuda_available, cuda_bf16)


def used_precision(trainer: Any) -> str:
    """The precision a built trainer runs in (`bf16-mixed`, `32-true`, ...), for results.json."""
    return str(trainer.precision)
