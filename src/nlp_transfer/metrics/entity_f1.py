"""Entity-level precision, recall and F1 for BIO tagging, as a torchmetrics `Metric` over seqeval.

An entity counts as correct only if its type and both boundaries match (CoNLL-2003 scoring,
Tjong Kim Sang & De Meulder 2003), computed by seqeval in its default (conlleval-compatible) mode.
Only positions whose gold label is not `ignore_index` are scored: the first sub-token of each
word that fits within the model's maximum length.

States are flat tensors plus per-sentence lengths, so they sync across DDP ranks by concatenation.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric


class EntityF1(Metric):
    """Micro precision/recall/F1 over entities, and F1 per entity type."""

    full_state_update = False

    def __init__(self, tag_names: list[str], ignore_index: int = -100) -> None:
        super().__init__()
        self.tag_names = list(tag_names)
        self.ignore_index = ignore_index
        self.add_state("preds", default=[], dist_reduce_fx="cat")
        self.add_state("targets", default=[], dist_reduce_fx="cat")
        self.add_state("lengths", default=[], dist_reduce_fx="cat")

    def update(self, preds: torch.Tensor, targets: torch.Tensor) -> None:
        """preds, targets: (batch, seq) tag ids; positions with target == ignore_index are skipped."""
        keep = targets != self.ignore_index
        self.preds.append(preds[keep].detach())
        self.targets.append(targets[keep].detach())
        self.lengths.append(keep.sum(dim=1))

    def _sequences(self, flat: torch.Tensor, lengths: torch.Tensor) -> list[list[str]]:
        names = self.tag_names
        return [[names[i] for i in chunk.tolist()] for chunk in torch.split(flat, lengths.tolist())]

    def compute(self) -> dict[str, torch.Tensor]:
        from seqeval.metrics import classification_report

        def cat(state: list[torch.Tensor] | torch.Tensor) -> torch.Tensor:
            return torch.cat(state) if isinstance(state, list) else state

        lengths = cat(self.lengths).long()
        gold = self._sequences(cat(self.targets).long(), lengths)
        pred = self._sequences(cat(self.preds).long(), lengths)
        report = classification_report(gold, pred, output_dict=True, zero_division=0)
        micro = report["micro avg"]
        result = {
            "precision": torch.tensor(float(micro["precision"])),
            "recall": torch.tensor(float(micro["recall"])),
            "f1": torch.tensor(float(micro["f1-score"])),
        }
        types = sorted({name[2:] for name in self.tag_names if name != "O"})
        for entity_type in types:
            scores = report.get(entity_type)
            result[f"type_f1/{entity_type}"] = torch.tensor(float(scores["f1-score"]) if scores else 0.0)
        return result
