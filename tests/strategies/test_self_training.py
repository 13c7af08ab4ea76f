"""Self-training: which rows get pseudo-labels and what they cost (hand computations), the EMA teacher's
update rule during a real fit, FlexMatch's per-class thresholds, and the teacher kept out of the optimizer
but inside checkpoints. Whole runs on every task and the label-leak contract live in test_da_strategies.py
and test_strategy_contracts.py (both pick self_training up)."""

from __future__ import annotations

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate

from nlp_transfer.models.backbone import random_bert
from nlp_transfer.strategies.domain_adaptation import DomainRows
from nlp_transfer.strategies.self_training import (
    SelfTrainingModule,
    confident_pseudo_labels,
    consistency_loss,
    ema_update,
    flexmatch_thresholds,
    pseudo_label_loss,
)
from nlp_transfer.strategy_declaration import constructor_config
from tests.conftest import TINY_FAST, compose_config
from tests.conftest import fit_quietly as fit


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def model_only(tmp_path, *extra: str, level: str = "sequence", labels: int = 2) -> SelfTrainingModule:
    """The strategy on a tiny random encoder, built from its yaml, without reading any data."""
    cfg = compose_config(["strategy=self_training", *extra], tmp_path)
    encoder = random_bert(hidden_size=16, intermediate_size=32)
    names = [f"c{i}" for i in range(labels)]
    node = constructor_config(cfg.strategy)
    return instantiate(node, encoder=encoder, label_names=names, level=level, _convert_="all")


def test_only_rows_above_the_threshold_get_pseudo_labels_and_the_loss_matches_a_hand_computation() -> None:
    teacher = torch.tensor([[0.95, 0.05], [0.60, 0.40], [0.08, 0.92], [0.50, 0.50], [0.10, 0.90]])
    labels, mask = confident_pseudo_labels(teacher, torch.full((2,), 0.9))
    assert labels.tolist() == [0, 0, 1, 0, 1]
    assert mask.tolist() == [True, False, True, False, False]  # 0.90 is not above 0.9
    student = np.array([[2.0, -1.0], [0.3, 0.1], [-0.5, 1.5], [0.0, 0.0], [1.0, 1.0]])
    loss = pseudo_label_loss(torch.tensor(student, dtype=torch.float32), labels, mask)
    logp = log_softmax(student)
    expected = -(logp[0, 0] + logp[2, 1]) / 5  # FixMatch: mean over all five rows, not the two kept
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_flexmatch_thresholds_follow_each_classs_learning_status() -> None:
    tau = 0.9
    counts = torch.tensor([6.0, 2.0, 0.0], dtype=torch.float64)
    # β = σ / max(max σ, u) = [1, 1/3, 0] (u = 3 < 6); T = β / (2 − β) · τ
    thresholds = flexmatch_thresholds(counts, torch.tensor(3.0, dtype=torch.float64), tau)
    assert thresholds.tolist() == pytest.approx([0.9, (1 / 3) / (5 / 3) * 0.9, 0.0])
    # many still-unconfident rows (warm-up): β = σ / u = [0.6, 0.2, 0]
    warm = flexmatch_thresholds(counts, torch.tensor(10.0, dtype=torch.float64), tau)
    assert warm.tolist() == pytest.approx([0.6 / 1.4 * 0.9, 0.2 / 1.8 * 0.9, 0.0])
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.5, 0.4], [0.2, 0.3, 0.5]])
    _, mask = confident_pseudo_labels(probs, thresholds.float())  # 0.7 < 0.9; 0.5 > 0.18; 0.5 > 0
    assert mask.tolist() == [False, True, True]


def test_flexmatch_counts_decay_and_take_in_each_batch(tmp_path) -> None:
    model = model_only(
        tmp_path, "strategy.curriculum=flexmatch", "strategy.curriculum_momentum=0.5", labels=3
    )
    probs = torch.tensor([[0.95, 0.03, 0.02], [0.2, 0.7, 0.1], [0.01, 0.97, 0.02], [0.02, 0.02, 0.96]])
    first = model.class_thresholds(probs)
    assert first.tolist() == [0.0, 0.0, 0.0]  # nothing learned yet: FlexMatch starts with every row
    assert model.confident_counts.tolist() == [1.0, 1.0, 1.0] and float(model.unconfident_count) == 1.0
    second = model.class_thresholds(probs[:1])
    assert second.tolist() == pytest.approx([0.9, 0.9, 0.9])  # β = 1 for every class
    assert model.confident_counts.tolist() == [1.5, 0.5, 0.5] and float(model.unconfident_count) == 0.5


def test_consistency_is_the_mean_squared_distance_of_two_passes_probabilities() -> None:
    first, second = (
        np.array([[1.0, 0.0, -1.0], [0.2, 0.2, 0.2]]),
        np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]]),
    )
    p, q = np.exp(log_softmax(first)), np.exp(log_softmax(second))
    expected = ((p - q) ** 2).sum(axis=1).mean()
    assert float(consistency_loss(torch.tensor(first), torch.tensor(second))) == pytest.approx(expected)


def test_ema_update_is_the_convex_combination() -> None:
    teacher, student = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        teacher.weight.copy_(torch.tensor([[1.0, 2.0]]))
        student.weight.copy_(torch.tensor([[3.0, 5.0]]))
        teacher.bias.fill_(0.0)
        student.bias.fill_(1.0)
    ema_update(teacher, student, decay=0.9)
    assert teacher.weight[0].tolist() == pytest.approx([0.9 * 1 + 0.1 * 3, 0.9 * 2 + 0.1 * 5])
    assert teacher.bias.tolist() == pytest.approx([0.1])


class HeadRecorder(pl.Callback):
    """The student's and the teacher's head weights at every batch end (after the optimizer step)."""

    def __init__(self) -> None:
        self.student: list[torch.Tensor] = []
        self.teacher: list[torch.Tensor] = []

    def on_train_batch_end(self, trainer, module, *args) -> None:
        self.student.append(module.head.net[-1].weight.detach().clone())
        self.teacher.append(module.teacher["head"].net[-1].weight.detach().clone())


def test_the_ema_teacher_follows_the_student_step_by_step_during_a_fit(tmp_path) -> None:
    cfg = compose_config([*TINY_FAST, "strategy=self_training", f"paths.cache_dir={tmp_path}"], tmp_path)
    from nlp_transfer.assembly import build_data_and_model

    datamodule, model = build_data_and_model(cfg)
    start = model.teacher["head"].net[-1].weight.detach().clone()
    assert torch.equal(start, model.head.net[-1].weight)  # the teacher starts as a copy of the student
    recorder = HeadRecorder()
    fit(model, datamodule, steps=3, callbacks=[recorder])
    assert int(model.teacher_updates) == 3
    teacher = start
    for step, student in enumerate(recorder.student):
        decay = min(0.99, 1 - 1 / (step + 1))  # α_t = 0, 1/2, 2/3
        teacher = decay * teacher + (1 - decay) * student
        assert torch.allclose(recorder.teacher[step], teacher, atol=1e-6)
    assert not torch.equal(recorder.teacher[-1], recorder.student[-1])


def test_the_teacher_is_in_the_checkpoint_but_not_in_the_optimizer(tmp_path) -> None:
    model = model_only(tmp_path)
    teacher_ids = {id(p) for p in model.teacher.parameters()}
    assert teacher_ids and not any(p.requires_grad for p in model.teacher.parameters())
    model.trainer = None
    optimized = {
        id(p) for group in model.optimizer_factory(_groups(model)).param_groups for p in group["params"]
    }
    assert optimized and not optimized & teacher_ids
    student = sum(p.numel() for m in (model.encoder, model.head) for p in m.parameters())
    assert model.trainable_parameter_count() == student
    keys = model.state_dict().keys()
    assert {"teacher_updates", "confident_counts", "unconfident_count"} <= set(keys)
    assert any(k.startswith("teacher.encoder.") for k in keys) and any(
        k.startswith("teacher.head.") for k in keys
    )
    fresh = model_only(tmp_path)
    with torch.no_grad():
        model.teacher["head"].net[-1].weight.add_(1.0)
        model.teacher_updates.fill_(7)
    fresh.load_state_dict(model.state_dict())
    assert torch.equal(fresh.teacher["head"].net[-1].weight, model.teacher["head"].net[-1].weight)
    assert int(fresh.teacher_updates) == 7


def _groups(model: SelfTrainingModule) -> list[dict]:
    from nlp_transfer.strategies.optimization import decay_groups

    return decay_groups(model.named_parameters(), model.weight_decay)


def test_self_teacher_has_no_copy(tmp_path) -> None:
    model = model_only(tmp_path, "strategy.teacher=self")
    assert model.teacher is None and not any(k.startswith("teacher.") for k in model.state_dict())


def test_token_level_pseudo_labels_only_word_starts_never_pieces_specials_or_padding(tmp_path) -> None:
    model = model_only(tmp_path, "strategy.threshold=0.01", "strategy.teacher=self", level="token", labels=3)
    model.eval()
    # [CLS] w0 w1a w1b w2 [SEP] pad pad | [CLS] w0a w0b w0c w1 w2 w3 [SEP]: 3 + 4 words
    mask = torch.tensor([[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]])
    starts = torch.tensor([[0, 1, 1, 0, 1, 0, 0, 0], [0, 1, 0, 0, 1, 1, 1, 0]], dtype=torch.bool)
    ids = torch.randint(1, 1000, mask.shape)
    batch = {"input_ids": ids, "attention_mask": mask, "word_starts": starts}  # a target batch: no labels
    features = model.features(batch)
    logits = model.head(features)
    rows = DomainRows(
        *(model.domain_features(t, batch) for t in (features, features, logits, logits)), batch, batch
    )
    assert torch.equal(rows.target_logits, logits[starts])  # the 7 word starts, in batch order
    assert model.teacher_logits(rows).shape == (7, 3)
    loss, extras = model.domain_loss(rows)
    assert float(extras["pseudo_label_share"]) == 1.0  # τ = 0.01: every word labeled
    word_logits = logits[starts].detach().double().numpy()  # hand: mean CE against each word's argmax
    expected = -log_softmax(word_logits)[np.arange(7), word_logits.argmax(axis=1)].mean()
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-5)
    flex = model_only(tmp_path, "strategy.curriculum=flexmatch", level="token", labels=3).eval()
    flex_logits = flex.domain_features(flex.head(flex.features(batch)), batch)
    flex.domain_loss(DomainRows(flex_logits, flex_logits, flex_logits, flex_logits, batch, batch))
    assert float(flex.confident_counts.sum() + flex.unconfident_count) == 7.0  # FlexMatch counts words
    with pytest.raises(ValueError, match="word_starts"):  # a batch without word alignment is refused
        model.domain_features(logits, {"input_ids": ids, "attention_mask": mask})


class WordRowRecorder(pl.Callback):
    """Each training step's target word starts, to compare with the rows self-training pseudo-labeled."""

    def __init__(self) -> None:
        self.words: list[int] = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.words.append(int(batch["target"]["word_starts"].sum()))


def test_self_training_on_tiny_ner_pseudo_labels_one_row_per_target_word(tmp_path) -> None:
    from nlp_transfer.assembly import build_data_and_model

    overrides = [*TINY_FAST, "strategy=self_training", "task=ner", "strategy.curriculum=flexmatch"]
    cfg = compose_config([*overrides, "strategy.curriculum_momentum=0.0", f"paths.cache_dir={tmp_path}"])
    datamodule, model = build_data_and_model(cfg)
    seen: list[int] = []
    original = model.domain_loss

    def spy(rows):
        seen.append(len(rows.target_logits))
        return original(rows)

    model.domain_loss = spy
    recorder = WordRowRecorder()
    trainer = fit(model, datamodule, steps=2, callbacks=[recorder])
    assert trainer.global_step == 2 and torch.isfinite(trainer.callback_metrics["train/loss"])
    assert seen == recorder.words and all(words > 0 for words in seen)
    # momentum 0: the FlexMatch counts are the last batch's, one per target word
    assert float(model.confident_counts.sum() + model.unconfident_count) == seen[-1]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("strategy.teacher=oracle", "teacher must be one of"),
        ("strategy.curriculum=cosine", "curriculum must be one of"),
        ("strategy.threshold=1.0", "threshold must lie in"),
        ("strategy.ema_decay=1.0", "ema_decay must lie in"),
        ("strategy.max_domain_rows=8", "max_domain_rows=null"),
    ],
)
def test_bad_settings_fail_when_the_model_is_built(override: str, message: str, tmp_path) -> None:
    with pytest.raises(Exception, match=message):  # a ValueError, wrapped by Hydra's instantiate
        model_only(tmp_path, override)
