"""Feature extraction: a frozen pretrained encoder, and only the head trains.

The encoder's features are the last hidden layer or the mean of the last k layers (Devlin et al. 2019,
§5.3), pooled per text (`cls` or `mean`) or kept per token (NER). Since the encoder never changes, its
features are computed once per dataset and cached: the module owns a `FrozenFeatures`
(features/frozen_features.py), prepares it at the start of each stage with that stage's loaders and reads
it in `features()`; `cache_features=False` encodes every batch again, as plain fine-tuning does.
"""

from __future__ import annotations

import json
from typing import Any

import torch

from nlp_transfer.features.frozen_features import FrozenFeatures
from nlp_transfer.models.fingerprint import weights_fingerprint
from nlp_transfer.models.hidden_layers import check_layer_choice, token_states
from nlp_transfer.strategies.base import Batch, TransferModule


class FeatureExtractionModule(TransferModule):
    """Frozen encoder (no gradients, always in eval mode so dropout is off) + trained head.

    Args (beyond `TransferModule`):
        layers: `last` hidden layer, or `mean_last_k`: the mean of the last `num_layers` layers.
        num_layers: k for `mean_last_k` (at most the encoder's depth; ignored for `last`).
        cache_features: encode each dataset once and train the head on the cached features.
        cache_dir: where the cache keeps them (`<cache_dir>/features/`); None keeps them in memory.
    """

    def __init__(
        self,
        *args: Any,
        layers: str = "last",
        num_layers: int = 4,
        cache_features: bool = True,
        cache_dir: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        check_layer_choice(self.encoder, layers, num_layers)
        self.layers = layers
        self.num_layers = num_layers
        self.encoder.requires_grad_(False)
        self.encoder.eval()
        # the store (not the module) reads and writes files; one per module, so its memory lasts from
        # fit to the final validate and test
        self.frozen_features = FrozenFeatures(cache_dir) if cache_features else None

    def train(self, mode: bool = True) -> FeatureExtractionModule:
        super().train(mode)
        self.encoder.eval()  # a frozen extractor gives the same features every epoch
        return self

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        if self.frozen_features is not None:  # features remembered for other encoder weights are stale now
            self.frozen_features.check_signature(self.feature_signature())
        return result

    # each stage first encodes (or reads back) every dataset its loaders serve, once
    def on_train_start(self) -> None:
        super().on_train_start()
        self._prepare_features(self.trainer.train_dataloader)

    def on_validation_start(self) -> None:
        super().on_validation_start()
        self._prepare_features(self.trainer.val_dataloaders)

    def on_test_start(self) -> None:
        super().on_test_start()
        self._prepare_features(self.trainer.test_dataloaders)

    def on_predict_start(self) -> None:
        super().on_predict_start()
        self._prepare_features(self.trainer.predict_dataloaders)

    def _prepare_features(self, loaders: Any) -> None:
        if self.frozen_features is not None:
            self.frozen_features.prepare(
                loaders, self.encode, self.feature_signature(), precision=str(self.trainer.precision),
                device=self.device, autocast=self.trainer.precision_plugin.forward_context,
            )  # fmt: skip

    def encode(self, batch: Batch) -> torch.Tensor:
        """The frozen encoder's features: (batch, hidden) pooled, or (batch, seq, hidden) at token level."""
        hidden = token_states(
            self.encoder, batch["input_ids"], batch["attention_mask"], self.layers, self.num_layers
        )
        return self.task_level.features(hidden, batch["attention_mask"], self.pooling)

    def feature_signature(self) -> dict[str, Any]:
        """Everything on the model side that changes `encode`'s output (the feature cache's key)."""
        config = self.encoder.config
        return {
            "backbone": str(getattr(config, "_name_or_path", "")),
            "config": json.dumps(config.to_diff_dict(), sort_keys=True, default=str),
            "weights": weights_fingerprint(self.encoder),
            "level": self.level,
            "pooling": self.pooling if self.task_level.pools else None,
            "layers": self.layers,
            "num_layers": self.num_layers if self.layers == "mean_last_k" else None,
        }

    def features(self, batch: Batch) -> torch.Tensor:
        """Stored features when this batch's texts were prepared, else the encoder's (then remembered)."""
        if self.frozen_features is not None:
            return self.frozen_features.features(batch, self.encode)
        with torch.no_grad():
            return self.encode(batch)
