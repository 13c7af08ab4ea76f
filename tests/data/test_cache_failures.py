"""Caches that cannot be written fail clearly (the directory and NLP_TRANSFER_CACHE named) and leave no
partial file; cache files that cannot be trusted (truncated, pickled, incomplete) are rebuilt, never run.

"Unwritable" is a real kernel refusal, not a mock: the tests run as root, which ignores permission bits,
so the cache dir is placed under a regular file (mkdir fails with ENOTDIR/EEXIST for root too). "Full" is
a real short write too: a child process under RLIMIT_FSIZE gets EFBIG from the kernel mid-write; the exact
ENOSPC errno is injected by making numpy's writer write part of the file and then raise it.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nlp_transfer.data.errors import CacheError
from nlp_transfer.data.tokenization import cached_arrays, cached_tokenize
from nlp_transfer.features.store import FeatureTable
from tests.data.test_classification_datamodule import fixture_task, make_dm

KEY = {"kind": "test"}


def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "dom" / "train.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"text": "a", "label": "x"}) + "\n")
    return path


def arrays() -> dict[str, np.ndarray]:
    return {"ids": np.arange(10, dtype=np.int32), "offsets": np.array([0, 4, 10], dtype=np.int64)}


def all_files(root: Path) -> list[str]:
    """Every file under `root`, hidden temp files included."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def under_a_regular_file(tmp_path: Path) -> Path:
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file, so nothing can be created below it, not even by root")
    return blocker / "cache"


def test_an_unwritable_token_cache_names_the_dir_and_the_env_var(tmp_path: Path) -> None:
    cache_dir = under_a_regular_file(tmp_path)
    with pytest.raises(CacheError) as info:
        cached_arrays(cache_dir, data_file(tmp_path), KEY, arrays)
    message = str(info.value)
    assert str(cache_dir / "tokens") in message and "NLP_TRANSFER_CACHE" in message
    assert "Make it writable" in message
    assert all_files(tmp_path) == ["blocker", "dom/train.jsonl"]


def test_an_unwritable_cache_fails_in_datamodule_setup_before_any_model(
    tmp_path: Path, minilm_tokenizer
) -> None:
    dm = make_dm(
        fixture_task(tmp_path / "data"), minilm_tokenizer, cache_dir=str(under_a_regular_file(tmp_path))
    )
    with pytest.raises(CacheError, match="NLP_TRANSFER_CACHE"):
        dm.setup("fit")


def test_a_full_disk_leaves_no_partial_file_and_a_later_write_succeeds(tmp_path: Path, monkeypatch) -> None:
    real_savez = np.savez

    def savez_then_disk_full(handle, **kwargs) -> None:
        handle.write(b"PK\x03\x04 half of a zip archive")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", savez_then_disk_full)
    cache_dir, path = tmp_path / "cache", data_file(tmp_path)
    with pytest.raises(CacheError) as info:
        cached_arrays(cache_dir, path, KEY, arrays)
    message = str(info.value)
    assert "No space left on device (ENOSPC)" in message and "Free space there" in message
    assert str(cache_dir / "tokens") in message and "NLP_TRANSFER_CACHE" in message
    assert all_files(cache_dir) == []
    monkeypatch.setattr(np, "savez", real_savez)  # space freed: the same call now fills the cache
    cached_arrays(cache_dir, path, KEY, arrays)
    assert len(all_files(cache_dir)) == 1 and all_files(cache_dir)[0].endswith(".npz")


CHILD = """
import sys
from pathlib import Path
import numpy as np
from nlp_transfer.data.errors import CacheError
from nlp_transfer.data.tokenization import cached_arrays
big = {"ids": np.zeros(1_000_000, dtype=np.int32), "offsets": np.array([0, 1_000_000])}
try:
    cached_arrays(Path(sys.argv[1]), Path(sys.argv[2]), {"kind": "test"}, lambda: big)
except CacheError as err:
    print(err)
"""


def test_a_real_short_write_from_the_kernel_leaves_no_partial_file(tmp_path: Path) -> None:
    def limit_file_size() -> None:  # writes past 64 KiB fail with EFBIG (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    cache_dir, path = tmp_path / "cache", data_file(tmp_path)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(cache_dir), str(path)],
        capture_output=True, text=True, env=env, preexec_fn=limit_file_size, timeout=120,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    assert "File too large (EFBIG)" in child.stdout and "NLP_TRANSFER_CACHE" in child.stdout, child.stdout
    assert all_files(cache_dir) == []


class TouchOnUnpickle:
    """An object whose unpickling creates a file: proof that a cache read never runs pickled code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_truncated_pickled_or_incomplete_cache_files_are_rebuilt(tmp_path: Path, minilm_tokenizer) -> None:
    path, cache_dir = data_file(tmp_path), tmp_path / "cache"
    first = cached_tokenize(path, ["hello world", "more text"], minilm_tokenizer, 16, cache_dir)
    (cache_file,) = (cache_dir / "tokens").glob("*.npz")
    marker = tmp_path / "pickle-ran"
    spoilers = {
        "truncated": lambda: cache_file.write_bytes(cache_file.read_bytes()[:40]),
        "not a zip": lambda: cache_file.write_text("garbage"),
        "pickled": lambda: np.savez(cache_file, ids=np.array([TouchOnUnpickle(marker)], dtype=object)),
        "incomplete": lambda: np.savez(cache_file, ids=first.ids),  # no offsets
    }
    for name, spoil in spoilers.items():
        spoil()
        again = cached_tokenize(path, ["hello world", "more text"], minilm_tokenizer, 16, cache_dir)
        assert np.array_equal(again.ids, first.ids) and np.array_equal(again.offsets, first.offsets), name
        with np.load(cache_file, allow_pickle=False) as stored:  # rebuilt in place, whole again
            assert np.array_equal(stored["ids"], first.ids), name
    assert not marker.exists()


def test_an_unwritable_or_full_feature_cache_fails_clearly_and_leaves_nothing(
    tmp_path: Path, monkeypatch
) -> None:
    table = FeatureTable.from_examples([torch.ones(1, 4), torch.zeros(1, 4)], token_level=False)
    blocked = under_a_regular_file(tmp_path) / "features" / "key.pt"
    with pytest.raises(CacheError) as info:
        table.save(blocked, {"examples": 2})
    assert str(blocked.parent) in str(info.value) and "NLP_TRANSFER_CACHE" in str(info.value)

    def save_then_disk_full(obj, handle) -> None:
        handle.write(b"half of a torch archive")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", save_then_disk_full)
    target = tmp_path / "cache" / "features" / "key.pt"
    with pytest.raises(CacheError, match=r"No space left on device \(ENOSPC\).*NLP_TRANSFER_CACHE"):
        table.save(target, {"examples": 2})
    assert all_files(tmp_path / "cache") == []
