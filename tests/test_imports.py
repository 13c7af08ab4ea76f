"""Start-up stays instant: `--cfg`, `--help` and the entry module import no heavy library.

Lightning alone takes seconds to import (it pulls in transformers through torchmetrics), so every
heavy import happens inside the function that runs a job. Each check runs in a fresh interpreter,
where `sys.modules` shows exactly what an import pulled in.
"""

from __future__ import annotations

import subprocess
import sys

from nlp_transfer.config import PROJECT_ROOT

HEAVY = ("torch", "pytorch_lightning", "lightning", "transformers", "peft", "wandb", "torchmetrics")


def imported_heavy_modules(code: str) -> list[str]:
    """Run `code` in a fresh interpreter, then list the heavy top-level packages it imported."""
    probe = f"{code}\nimport sys\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])  # noqa: S307 - a list literal this test printed


def test_importing_the_training_entry_point_imports_no_heavy_library() -> None:
    assert imported_heavy_modules("import nlp_transfer.train, nlp_transfer.eval") == []


def test_printing_the_composed_config_imports_no_heavy_library() -> None:
    code = (
        "import sys, contextlib, io\n"
        "sys.argv = ['train.py', '--cfg', 'job', 'backbone=tiny', 'strategy=dann']\n"
        "from nlp_transfer.train import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    main()\n"
        "assert 'DANNModule' in out.getvalue(), out.getvalue()\n"
    )
    assert imported_heavy_modules(code) == []


def test_the_nlp_transfer_command_imports_neither_torch_nor_lightning() -> None:
    """Every command module is imported to build `nlp-transfer --help`; none may pull in torch."""
    code = (
        "import contextlib, io\nfrom nlp_transfer.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])"
    )
    assert imported_heavy_modules(code) == []
