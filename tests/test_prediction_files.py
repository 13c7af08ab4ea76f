"""A real tiny run writes its per-example test predictions, keyed to the split file they came from."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nlp_transfer.config import PROJECT_ROOT
from nlp_transfer.data.jsonl import file_checksum
from nlp_transfer.results.predictions import prediction_files, prediction_path, read_predictions
from tests.conftest import TINY_FAST

FULL_TEST = ["task.max_eval_examples=null", "trainer.limit_test_batches=null"]


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_sequence_run_writes_every_test_example_in_file_order(run_training, data_dir):
    record = run_training("domain.source=books", "domain.target=dvd", *FULL_TEST)
    run_dir = record["output_dir"]
    assert set(prediction_files(run_dir)) == {"books_test", "dvd_test"}
    for domain in ("books", "dvd"):
        split_file = data_dir / "sentiment" / domain / "test.jsonl"
        preds = read_predictions(prediction_path(run_dir, domain))
        examples = _lines(split_file)
        assert (preds.task, preds.domain, preds.split) == ("sentiment", domain, "test")
        assert preds.checksum == file_checksum(split_file)
        assert len(preds.index) == len(examples) == preds.file_examples
        assert np.array_equal(preds.index, np.arange(len(examples)))
        gold = [preds.label_names[i] for i in preds.gold]
        assert gold == [e["label"] for e in examples]
        assert np.allclose(preds.probs.astype(np.float64).sum(axis=1), 1.0, atol=2e-3)
        assert np.array_equal(preds.pred, preds.probs.astype(np.float32).argmax(axis=1)) or (
            np.mean(preds.pred == preds.probs.argmax(axis=1)) > 0.99  # float16 may tie two near-equal
        )
    accuracy = float(np.mean(preds.pred == preds.gold))
    assert abs(accuracy - record["metrics"]["target/test/acc"]) < 1e-6
    size = sum(p.stat().st_size for p in (run_dir / "predictions").iterdir())
    assert size < 20_000, f"{size} bytes for two ~400-example splits"  # compact enough for every run


def test_ner_all_domains_run_writes_per_word_tags(run_training, data_dir):
    record = run_training("task=ner", "evaluate_on=all_domains", "domain.source=news", "task.max_length=256")
    run_dir = record["output_dir"]
    tested = {k.removesuffix("_test") for k in prediction_files(run_dir)}
    assert tested == {p.name for p in (data_dir / "ner").iterdir() if (p / "test.jsonl").is_file()}
    preds = read_predictions(prediction_path(run_dir, "music"))
    sentences = _lines(data_dir / "ner" / "music" / "test.jsonl")[: len(preds.index)]
    assert np.array_equal(preds.index, np.arange(len(sentences)))
    assert preds.level == "token" and preds.probs is None
    gold_tags = preds.sentences(preds.gold)
    words = [len(s["tokens"]) for s in sentences]
    scored = [len(tags) for tags in gold_tags]
    assert scored == words  # every word fits in 256 sub-tokens here, so every word is scored
    assert [len(t) for t in preds.sentences(preds.pred)] == scored
    # the file's own tags (B/I/O; entity types go through the task's type map) on the scored words
    ours = [[preds.label_names[i][0] for i in tags] for tags in gold_tags]
    theirs = [[t[0] for t in s["tags"][:n]] for s, n in zip(sentences, scored, strict=True)]
    assert ours == theirs


def test_few_shot_phase_writes_beside_not_over_the_main_runs_predictions(run_training):
    record = run_training("task=ner", "domain.target=ai", "target_finetune=few_shot")
    run_dir = record["output_dir"]
    main_run = read_predictions(prediction_path(run_dir, "ai"))
    phase = read_predictions(run_dir / "predictions" / "target_finetune" / "ai_test.npz")
    assert main_run.label_names != phase.label_names  # the phase tags with ai's own entity types
    assert set(prediction_files(run_dir)) == {"news_test", "ai_test"}


@pytest.mark.slow  # two DDP processes in a subprocess, then one single-process run: about a minute of CPU
def test_ddp_ranks_gather_into_one_file_equal_to_a_single_process_run(run_training, tmp_path):
    """Sharded test loaders (with padding repeats) still give every example once, in file order."""
    same_weights = ["strategy.optimizer.lr=0", "trainer.accelerator=cpu", "task.max_eval_examples=61"]
    env = {**os.environ, "NLP_TRANSFER_LOGS": str(tmp_path / "logs")}
    env["NLP_TRANSFER_CACHE"] = str(tmp_path / "cache")
    command = [sys.executable, str(PROJECT_ROOT / "train.py"), *TINY_FAST, *same_weights, "trainer=ddp"]
    done = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (run_dir,) = (tmp_path / "logs" / "sentiment" / "runs").iterdir()
    single = run_training(*same_weights, "task.length_grouping=false")["output_dir"]
    for domain in ("books", "kitchen"):
        ddp, one = (read_predictions(prediction_path(d, domain)) for d in (run_dir, single))
        assert np.array_equal(ddp.index, np.arange(61))  # 61 examples over 2 ranks: one padding repeat
        assert ddp.same_examples(one)
        assert np.array_equal(ddp.pred, one.pred)
        assert np.allclose(ddp.probs.astype(float), one.probs.astype(float), atol=1e-3)
