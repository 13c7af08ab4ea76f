"""A run's encoder + task head as a plain Hugging Face `AutoModelFor{Sequence,Token}Classification`.

The exported model must predict what the run predicted, in a process that imports only `transformers`
(no custom code, no `trust_remote_code`). So a run is exported only where its head maps onto the
Hugging Face class exactly; every other run is refused, naming what does not map:

* token level (NER): HF's `…ForTokenClassification` is encoder → dropout → `classifier` (a linear layer
  on every token's last hidden state), which is the project's token head with `head.hidden_dim: null`
  and `layers: last` — exact, for any encoder.
* sequence level, `pooling: cls`, linear head, BERT-type encoder: `BertForSequenceClassification`
  computes `classifier(tanh(W_p h_cls + b_p))`, while the project's head is `W h_cls + b` (no pooler).
  The pooler is set to `W_p = ε·I, b_p = 0` and the classifier to `W/ε`: since tanh(x) = x - x³/3 + …,
  each logit is `W h + b` up to a relative error of at most (ε·max|h|)²/3 — with ε = 1e-4 and hidden
  states of magnitude ≤ 30, below 3e-6, under the run's own float32 noise from batching. The export is
  float32; casting it to float16 is not supported (the classifier's weights are scaled by 1/ε).
* refused: mean pooling (HF's classes read one position), a hidden layer in the head
  (`head.hidden_dim`, e.g. dann/cdan/feature_extraction), `layers: mean_last_k`, and sequence-level
  encoders other than BERT (their HF heads add a dense layer with its own activation).

LoRA adapters are merged into the weights they adapt (W + (α/r)·B·A, Hu et al. 2022, §4.1), so a LoRA
run exports as an ordinary model.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

#: the pooler's scale ε (see the module docstring): small enough that tanh(εx)/ε = x in float32
POOLER_SCALE = 1e-4
ENCODER_PREFIX = "encoder."
HEAD_PREFIX = "head.net."


class NotExportableError(ValueError):
    """The run's model has no exact Hugging Face equivalent: the message says why and what exports."""


EXPORTABLE = (
    "Exportable: NER runs with a linear head (strategy.head.hidden_dim=null) on the last hidden layer, "
    "and sequence-level runs with pooling=cls and a linear head on a BERT-type backbone (tiny, minilm, "
    "bert_base) — e.g. fine_tune, gradual_unfreeze, lora, coral, mmd, udalm with their default heads."
)


def export_problems(strategy: dict[str, Any], level: str, model_type: str) -> list[str]:
    """Why a run with this strategy config, task level and encoder type cannot be exported (empty: it can)."""
    problems = []
    if (strategy.get("head") or {}).get("hidden_dim"):
        problems.append(
            f"its head has a hidden layer (strategy.head.hidden_dim={strategy['head']['hidden_dim']})"
        )
    if strategy.get("layers", "last") != "last":
        problems.append(f"its features are the mean of several layers (strategy.layers={strategy['layers']})")
    if level == "sequence":
        if strategy.get("pooling", "cls") != "cls":
            problems.append(
                f"it pools by strategy.pooling={strategy.get('pooling')}, while a Hugging Face sequence "
                "classifier reads the first token only"
            )
        if model_type != "bert":
            problems.append(f"sequence-level export needs a BERT-type encoder, not {model_type!r}")
    return problems


def check_exportable(strategy: dict[str, Any], level: str, model_type: str) -> None:
    """Refuse, naming every reason and what is exportable, a run with no exact HF equivalent."""
    if problems := export_problems(strategy, level, model_type):
        raise NotExportableError(
            "This run cannot be exported as a plain Hugging Face model that predicts exactly what it "
            f"predicted: {'; '.join(problems)}. {EXPORTABLE}"
        )


def merged_lora(state: dict[str, torch.Tensor], scaling: float) -> dict[str, torch.Tensor]:
    """peft's `…base_layer.weight` + `lora_A/lora_B` keys → one plain weight W + scaling·B·A per layer."""
    merged: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if ".lora_A." in key or ".lora_B." in key:
            continue
        if ".base_layer." in key:
            layer = key.split(".base_layer.")[0]
            key = key.replace(".base_layer.", ".")
            if key.endswith(".weight") and (a := state.get(f"{layer}.lora_A.default.weight")) is not None:
                value = value + scaling * state[f"{layer}.lora_B.default.weight"] @ a
        merged[key] = value
    return merged


def encoder_state(state_dict: dict[str, torch.Tensor], strategy: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The encoder's own weights (prefix stripped), LoRA adapters merged in."""
    state = {k[len(ENCODER_PREFIX) :]: v for k, v in state_dict.items() if k.startswith(ENCODER_PREFIX)}
    if any(".lora_A." in key for key in state):
        state = merged_lora(state, float(strategy["lora_alpha"]) / float(strategy["r"]))
    return state


def head_linear(state_dict: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of the head's one linear layer (`ClassificationHead` without a hidden layer)."""
    weights = sorted(k for k in state_dict if k.startswith(HEAD_PREFIX) and k.endswith(".weight"))
    if len(weights) != 1:
        raise NotExportableError(f"expected one linear layer in the head, found {weights}. {EXPORTABLE}")
    return state_dict[weights[0]], state_dict[weights[0].removesuffix("weight") + "bias"]


def hf_config(encoder_config: Any, label_names: list[str], extra: dict[str, Any]) -> Any:
    """The encoder's config with the label space (`id2label`/`label2id`) and the run's facts added."""
    config = copy.deepcopy(encoder_config)
    config.num_labels = len(label_names)
    config.id2label = dict(enumerate(label_names))
    config.label2id = {name: i for i, name in enumerate(label_names)}
    config.architectures = None
    config.nlp_transfer = extra  # saved in config.json; ignored by transformers
    return config


def build_hf_model(
    config: Any, level: str, encoder: dict[str, torch.Tensor], head: tuple[torch.Tensor, torch.Tensor]
) -> Any:
    """The HF classification model holding `encoder` and the head (mapped as the module docstring says)."""
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    auto = AutoModelForTokenClassification if level == "token" else AutoModelForSequenceClassification
    model = auto.from_config(config).float()
    base = model.base_model
    if level == "token":  # the token classes build the encoder without a pooler
        encoder = {k: v for k, v in encoder.items() if not k.startswith("pooler.")}
    missing, unexpected = base.load_state_dict(encoder, strict=False)
    if unexpected or [k for k in missing if not k.startswith("pooler.")]:
        raise NotExportableError(
            f"the encoder's weights do not fit {type(base).__name__}: missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}"
        )
    weight, bias = head
    with torch.no_grad():
        if level == "sequence":
            size = base.pooler.dense.weight.shape[0]
            base.pooler.dense.weight.copy_(torch.eye(size) * POOLER_SCALE)
            base.pooler.dense.bias.zero_()
            weight = weight / POOLER_SCALE
        model.classifier.weight.copy_(weight)
        model.classifier.bias.copy_(bias)
    return model.eval()
