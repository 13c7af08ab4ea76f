"""An encoder's parameters as layer groups, bottom to top: embeddings, then each transformer layer.

Gradual unfreezing and discriminative learning rates (Howard & Ruder 2018, ULMFiT) treat a network as
a stack of groups. Hugging Face encoders keep their layers under different names (BERT, RoBERTa,
DeBERTa: `encoder.layer`; DistilBERT: `transformer.layer`; others `layers`, `h`, `block`), so the
stack is found by trying those paths in turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

#: where Hugging Face encoders keep their `nn.ModuleList` of transformer layers, most common first
LAYER_LIST_PATHS = (
    "encoder.layer",  # BERT, RoBERTa, DeBERTa, ELECTRA, MiniLM
    "transformer.layer",  # DistilBERT
    "encoder.layers",
    "layers",
    "layer",
    "h",  # GPT-2 style
    "transformer.h",
    "encoder.block",  # T5 encoder
    "block",
)


@dataclass
class LayerGroup:
    """A named set of parameters that is frozen, unfrozen and given a learning rate together."""

    name: str
    parameters: list[tuple[str, nn.Parameter]] = field(default_factory=list)

    def names(self) -> set[str]:
        return {name for name, _ in self.parameters}


def find_layer_list(encoder: nn.Module) -> tuple[str, nn.ModuleList]:
    """The encoder's stack of transformer layers and its dotted path.

    Raises:
        ValueError: no known path holds a non-empty `nn.ModuleList` (names the encoder's class).
    """
    for path in LAYER_LIST_PATHS:
        module: nn.Module | None = encoder
        for part in path.split("."):
            module = getattr(module, part, None)
            if module is None:
                break
        if isinstance(module, nn.ModuleList) and len(module) > 0:
            return path, module
    raise ValueError(
        f"Cannot find the transformer layers of {type(encoder).__name__}: none of "
        f"{', '.join(LAYER_LIST_PATHS)} is a non-empty nn.ModuleList. Add its layer path to "
        f"LAYER_LIST_PATHS in nlp_transfer/models/layer_groups.py."
    )


def encoder_layer_groups(encoder: nn.Module) -> list[LayerGroup]:
    """Groups from the bottom: `embeddings`, then `layer_0` … `layer_{n-1}` in forward order.

    Every parameter outside the layer stack (word and position embeddings, and shared pieces such
    as DeBERTa's relative-position table or BERT's unused pooler) goes into the bottom group, so
    the groups together hold each encoder parameter exactly once. Parameter names are those of
    `encoder.named_parameters()`.
    """
    path, layers = find_layer_list(encoder)
    groups = [LayerGroup(f"layer_{i}") for i in range(len(layers))]
    prefixes = [f"{path}.{i}." for i in range(len(layers))]
    bottom = LayerGroup("embeddings")
    for name, param in encoder.named_parameters():
        index = next((i for i, prefix in enumerate(prefixes) if name.startswith(prefix)), None)
        (bottom if index is None else groups[index]).parameters.append((name, param))
    return [bottom, *groups]
