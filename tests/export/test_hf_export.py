"""Export: a run's model as a plain Hugging Face folder predicts what eval.py predicts (fresh process)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nlp_transfer.export.hf_model import (
    POOLER_SCALE,
    NotExportableError,
    build_hf_model,
    check_exportable,
    encoder_state,
    export_problems,
    hf_config,
    merged_lora,
)
from nlp_transfer.results.predictions import prediction_path, read_predictions
from nlp_transfer.results.record import read_record
from tests.export.conftest import fresh_predictions

LINEAR = {"pooling": "cls", "head": {"hidden_dim": None}}


def _eval_predictions(run_dir: Path, tmp_path: Path):
    """eval.py's predictions on the run's target test split, and that split's file."""
    from nlp_transfer.eval import evaluate

    evaluate(run_dir, output_dir=tmp_path / "eval")
    config = read_record(run_dir).config
    file = Path(config.resolved["task"]["data_dir"]) / config.target / "test.jsonl"
    return read_predictions(prediction_path(tmp_path / "eval", config.target)), file


def test_an_exported_sequence_run_predicts_evals_labels_with_transformers_only(
    sentiment_run: Path, sentiment_export: Path, tmp_path: Path
) -> None:
    from nlp_transfer.data.jsonl import read_classification_split

    predictions, file = _eval_predictions(sentiment_run, tmp_path)
    texts, _ = read_classification_split(file)
    fresh = fresh_predictions(sentiment_export, "sequence", [texts[i] for i in predictions.index], tmp_path)
    names = predictions.label_names
    assert [label for label, _ in fresh] == [names[i] for i in predictions.pred]
    assert np.allclose([probs for _, probs in fresh], predictions.probs.astype(float), atol=2e-3)  # float16


@pytest.mark.slow
def test_an_exported_minilm_fine_tune_run_predicts_evals_labels_with_transformers_only(
    tmp_path: Path,
) -> None:
    from nlp_transfer.data.jsonl import read_classification_split
    from nlp_transfer.export.run_export import export_run
    from tests.export.conftest import train_tiny

    base = ("backbone=minilm", "debug=smoke", "trainer.precision=32-true")  # 4 steps, 64 texts of ≤ 64 tokens
    run_dir = train_tiny(tmp_path, base=base)
    folder = export_run(run_dir, tmp_path / "hf")
    predictions, file = _eval_predictions(run_dir, tmp_path)
    texts, _ = read_classification_split(file)
    fresh = fresh_predictions(folder, "sequence", [texts[i] for i in predictions.index], tmp_path)
    assert [label for label, _ in fresh] == [predictions.label_names[i] for i in predictions.pred]
    assert np.allclose([probs for _, probs in fresh], predictions.probs.astype(float), atol=2e-3)


def test_an_exported_ner_run_predicts_evals_tags_with_transformers_only(
    ner_run: Path, ner_export: Path, tmp_path: Path
) -> None:
    from nlp_transfer.data.jsonl import read_token_split

    predictions, file = _eval_predictions(ner_run, tmp_path)
    sentences, _ = read_token_split(file)
    fresh = fresh_predictions(ner_export, "token", [sentences[i] for i in predictions.index], tmp_path)
    names = predictions.label_names
    expected = [[names[t] for t in tags] for tags in predictions.sentences(predictions.pred)]
    assert [len(tags) for tags in fresh] == [len(tags) for tags in expected]  # same words cut off
    assert fresh == expected
    config = json.loads((ner_export / "config.json").read_text())
    assert config["architectures"] == ["BertForTokenClassification"]
    assert config["id2label"] == {str(i): name for i, name in enumerate(names)}


def test_the_export_folder_holds_safetensors_tokenizer_and_a_model_card(
    sentiment_run: Path, sentiment_export: Path
) -> None:
    files = {path.name for path in sentiment_export.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= files
    assert not any(name.endswith((".bin", ".ckpt", ".pt")) for name in files)
    tokenizer_config = json.loads((sentiment_export / "tokenizer_config.json").read_text())
    assert tokenizer_config["model_max_length"] == 64  # the run's task.max_length (debug=smoke)
    card = (sentiment_export / "README.md").read_text()
    record = read_record(sentiment_run)
    identity = json.loads((sentiment_run / "run_identity.json").read_text())
    assert "# fine_tune · tiny · sentiment: books → kitchen" in card
    assert f"| target/test | acc | {record.metric('target/test/acc'):.4f} | [" in card  # with its interval
    assert f"`{identity['data']['kitchen/test']}`" in card and "were not used to choose this model" in card
    assert f"{record.cost.train_steps} optimizer steps" in card


@pytest.mark.parametrize("seed", [0, 1])
def test_cls_pooling_maps_onto_bert_for_sequence_classification(seed: int) -> None:
    """The near-identity pooler: HF logits equal W·h_cls + b (the project's head) to float32 precision."""
    from nlp_transfer.models.backbone import random_bert

    encoder = random_bert(seed=seed).eval()
    torch.manual_seed(seed)
    weight, bias = torch.randn(3, 32), torch.randn(3)
    ids = torch.randint(1000, 2000, (4, 12))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    with torch.no_grad():
        expected = encoder(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0] @ weight.T + bias
        config = hf_config(encoder.config, ["a", "b", "c"], {})
        model = build_hf_model(config, "sequence", encoder.state_dict(), (weight, bias))
        logits = model(input_ids=ids, attention_mask=mask).logits
    assert float(model.bert.pooler.dense.weight[0, 0]) == pytest.approx(POOLER_SCALE)
    assert torch.allclose(logits, expected, rtol=1e-5, atol=1e-5)


def test_lora_adapters_are_merged_into_the_weights_they_adapt() -> None:
    """W + (α/r)·B·A (Hu et al. 2022), checked on numbers small enough to multiply by hand."""
    base = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    a = torch.tensor([[1.0, 2.0]])  # (r=1, in=2)
    b = torch.tensor([[3.0], [4.0]])  # (out=2, r=1)
    state = {
        "layer.query.base_layer.weight": base, "layer.query.base_layer.bias": torch.tensor([0.5, 0.5]),
        "layer.query.lora_A.default.weight": a, "layer.query.lora_B.default.weight": b,
        "layer.key.weight": base,
    }  # fmt: skip
    merged = merged_lora(state, scaling=2.0)
    assert set(merged) == {"layer.query.weight", "layer.query.bias", "layer.key.weight"}
    assert merged["layer.query.weight"].tolist() == [[7.0, 12.0], [8.0, 17.0]]  # 1+2·3·1, 0+2·3·2, …
    assert merged["layer.query.bias"].tolist() == [0.5, 0.5]
    prefixed = {f"encoder.{k}": v for k, v in state.items()} | {"head.net.1.weight": base}
    assert encoder_state(prefixed, {"lora_alpha": 16, "r": 8}).keys() == merged.keys()


def test_heads_without_an_exact_hf_equivalent_are_refused_naming_why() -> None:
    assert export_problems(LINEAR, "sequence", "bert") == []
    assert export_problems({**LINEAR, "pooling": "mean"}, "token", "roberta") == []  # NER never pools
    with pytest.raises(NotExportableError, match=r"strategy\.pooling=mean.*Exportable: NER runs"):
        check_exportable({**LINEAR, "pooling": "mean"}, "sequence", "bert")
    with pytest.raises(NotExportableError, match=r"hidden_dim=256"):
        check_exportable({"head": {"hidden_dim": 256}}, "token", "bert")
    with pytest.raises(NotExportableError, match=r"layers=mean_last_k"):
        check_exportable({**LINEAR, "layers": "mean_last_k"}, "token", "bert")
    with pytest.raises(NotExportableError, match=r"BERT-type encoder, not 'roberta'"):
        check_exportable(LINEAR, "sequence", "roberta")


def test_export_refuses_a_feature_extraction_run_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from nlp_transfer.export.commands import export_command
    from tests.export.conftest import train_tiny

    run_dir = train_tiny(tmp_path, "strategy=feature_extraction", "trainer.limit_train_batches=1")
    assert export_command([f"run_dir={run_dir}", f"out={tmp_path / 'out'}"]) == 2
    assert "strategy.pooling=mean" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
