"""``scripts/prepare_data.py``: runs from a raw folder, and exits non-zero with the offline message."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import ModuleType

import pytest

from nlp_transfer.data.sources import conll
from nlp_transfer.data.sources.tasks import prepare_tasks

from .conftest import CLOSED_PORT_URL, RawFolder, read_jsonl

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "prepare_data.py"


def load_cli() -> ModuleType:
    spec = importlib.util.spec_from_file_location("prepare_data_cli", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_builds_ner_from_a_raw_dir_without_network(tmp_path: Path) -> None:
    raw_dir = tmp_path / "raw"
    for domain in conll.DOMAIN_DIRS:
        for split, raw_file in conll.raw_files(domain).items():
            path = raw_file.local_path(raw_dir)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{domain}\tO\n{split}\tO\n", encoding="utf-8")
    argv = ["--out", str(tmp_path / "out"), "--tasks", "ner", "--raw-dir", str(raw_dir)]
    assert load_cli().main(argv + ["--base-url", CLOSED_PORT_URL]) == 0

    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.jsonl"))
    assert len(written) == 18 and written[0] == "ner/ai/test.jsonl"
    assert read_jsonl(tmp_path / "out" / "ner" / "news" / "validation.jsonl") == [
        {"tokens": ["news", "validation"], "tags": ["O", "O"]}
    ]


def test_cli_without_network_exits_nonzero_fast_and_says_how_to_use_raw_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--out", str(tmp_path / "out"), "--tasks", "sentiment", "--base-url", CLOSED_PORT_URL]
    start = time.monotonic()
    assert load_cli().main(argv) == 2
    assert time.monotonic() - start < 5
    err = capsys.readouterr().err
    assert err.startswith("prepare_data: error: cannot download http://127.0.0.1:9/bzantium/bert-AAD/")
    assert "needs network access" in err and "--raw-dir DIR" in err
    assert "DIR/bert-AAD/data/books/positive.review" in err
    assert not (tmp_path / "out").exists()


def test_unknown_task_is_refused(raw: RawFolder) -> None:
    with pytest.raises(ValueError, match="unknown task"):
        prepare_tasks(raw.out, ["speech"], raw.fetcher)
