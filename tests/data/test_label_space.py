import json

import pytest

from nlp_transfer.data.errors import DataError
from nlp_transfer.data.label_space import LabelSpace
from tests.conftest import compose_config


def test_mapping_sends_a_domains_labels_onto_the_shared_set() -> None:
    space = LabelSpace(["joy", "sadness"], {"tweets": {"love": "joy"}})
    assert space.encode(["love", "sadness", "joy"], domain="tweets") == [0, 1, 0]
    with pytest.raises(DataError, match=r"\['love'\]"):
        space.encode(["love"], where="reddit/train.jsonl", domain="reddit")  # not mapped there


def test_mapping_onto_an_undeclared_label_is_refused() -> None:
    with pytest.raises(DataError, match="not in task.labels"):
        LabelSpace(["joy"], {"tweets": {"love": "affection"}})


def test_duplicate_or_empty_label_sets_are_refused() -> None:
    with pytest.raises(DataError):
        LabelSpace([])
    with pytest.raises(DataError):
        LabelSpace(["a", "a"])


@pytest.mark.parametrize("task", ["sentiment", "emotion", "topic"])
def test_every_domain_of_the_real_data_uses_exactly_the_declared_labels(task, data_dir, tmp_path) -> None:
    cfg = compose_config([f"task={task}"], tmp_path)
    for domain in cfg.task.domains:
        for split in ("train", "validation", "test"):
            path = data_dir / task / domain / f"{split}.jsonl"
            labels = {json.loads(line)["label"] for line in path.open(encoding="utf-8")}
            assert labels == set(cfg.task.labels), f"{path}: {sorted(labels)}"
