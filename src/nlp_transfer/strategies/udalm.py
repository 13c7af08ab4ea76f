"""UDALM: masked-LM on unlabeled target text mixed with the source task loss (Karouzos, Paraskevopoulos &
Potamianos 2021, "UDALM: Unsupervised Domain Adaptation through Language Modeling", NAACL).

Each step takes a labeled source batch and an unlabeled target batch; the encoder is trained on
    loss = CE(source labels) + mlm_weight · MLM(target text),
so it keeps the target domain's language while it learns the task (UDALM writes the mix as
λ·CE + (1 − λ)·MLM; mlm_weight = (1 − λ)/λ gives the same direction). With `dapt_steps` > 0 the
first steps are MLM-only on target text: domain-/task-adaptive pretraining (Gururangan et al. 2020,
"Don't Stop Pretraining", DAPT/TAPT) before the mixed phase, as UDALM does.

Masking follows BERT (15% of real non-special tokens; 80/10/10), with the tokenizer's ids handed in
as `vocabulary` (see `nlp_transfer.models.masking.masking_vocabulary`). On token-level tasks (NER)
the task loss is per token; the MLM part is the same.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import torch
from torch.nn import functional as F

from nlp_transfer.models.masking import IGNORE_INDEX, mask_tokens
from nlp_transfer.models.mlm_head import MaskedLMHead
from nlp_transfer.strategies.base import Batch, TransferModule
from nlp_transfer.strategies.domain_adaptation import TargetLabelLeakError

log = logging.getLogger(__name__)


class UDALMModule(TransferModule):
    """Shared encoder + task head (source) + tied masked-LM head (target text).

    Args (beyond `TransferModule`):
        vocabulary: {"mask_token_id", "special_token_ids", "vocab_size"} of the backbone's tokenizer;
            `assembly.build_data_and_model` passes it (see `needs_vocabulary`).
        mlm_weight: weight of the target masked-LM loss.
        mlm_probability: share of real tokens chosen for prediction (BERT: 0.15).
        dapt_steps: number of first steps trained on the target MLM loss alone.
    """

    uses_target_data = True
    #: the builder hands this strategy the tokenizer's mask/special ids (it never reads files itself)
    needs_vocabulary: ClassVar[bool] = True

    def __init__(
        self,
        *args: Any,
        vocabulary: dict[str, Any] | None = None,
        mlm_weight: float = 1.0,
        mlm_probability: float = 0.15,
        dapt_steps: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if mlm_weight < 0:
            raise ValueError(f"mlm_weight must be >= 0, got {mlm_weight}")
        if dapt_steps < 0:
            raise ValueError(f"dapt_steps must be >= 0 (0: no MLM-only phase), got {dapt_steps}")
        self.vocabulary = vocabulary
        self.mlm_weight = mlm_weight
        self.mlm_probability = mlm_probability
        self.dapt_steps = dapt_steps
        self.mlm_head = MaskedLMHead(
            self.encoder.get_input_embeddings(), getattr(self.encoder.config, "layer_norm_eps", 1e-12)
        )
        log.info(
            "UDALM: the masked-LM head of %s is freshly initialised (dense, LayerNorm, decoder bias; the "
            "packaged backbones ship no MLM weights); its decoder is tied to the input embeddings.",
            type(self.encoder).__name__,
        )

    def mlm_loss(self, batch: Batch) -> torch.Tensor:
        """Cross-entropy of the MLM head at the chosen positions of a (masked) target batch."""
        if self.vocabulary is None:
            raise ValueError(
                "UDALM needs the tokenizer's mask and special token ids: build the model with "
                "nlp_transfer.assembly.build_data_and_model, or pass "
                "vocabulary=nlp_transfer.models.masking.masking_vocabulary(tokenizer)."
            )
        corrupted, labels = mask_tokens(
            batch["input_ids"],
            batch["attention_mask"],
            mask_token_id=self.vocabulary["mask_token_id"],
            special_token_ids=self.vocabulary["special_token_ids"],
            vocab_size=self.vocabulary["vocab_size"],
            probability=self.mlm_probability,
        )
        hidden = self.encoder(input_ids=corrupted, attention_mask=batch["attention_mask"]).last_hidden_state
        chosen = labels != IGNORE_INDEX
        if not chosen.any():  # a batch of very short texts can draw no position: nothing to predict
            return hidden.sum() * 0.0
        return F.cross_entropy(self.mlm_head(hidden[chosen]), labels[chosen])

    def training_step(self, batch: dict[str, Batch], batch_idx: int) -> torch.Tensor:
        source, target = batch["source"], batch["target"]
        if "labels" in target:
            raise TargetLabelLeakError("UDALM received target labels in a training batch; refusing to train.")
        mlm_loss = self.mlm_loss(target)
        size = len(source["input_ids"])
        if self.global_step < self.dapt_steps:
            loss = mlm_loss  # adaptive pretraining phase: target language only
            logged = {"train/mlm_loss": mlm_loss}
        else:
            class_loss = self.supervised_loss(self(source), source["labels"])
            loss = class_loss + self.mlm_weight * mlm_loss
            logged = {"train/class_loss": class_loss, "train/mlm_loss": mlm_loss}
        self.log("train/loss", loss, prog_bar=True, batch_size=size)
        self.log_dict(logged, batch_size=size)
        return loss
