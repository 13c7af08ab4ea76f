"""LoRA: low-rank adaptation (Hu et al. 2022, "LoRA: Low-Rank Adaptation of Large Language Models").

Every pretrained encoder weight is frozen; each targeted linear layer W gains a trainable update
(α / r) · B A of rank r, with B zero at the start, so training begins from the pretrained model and
moves only a small fraction of the parameters. The task head trains fully.

The adapters are injected into the encoder in place (peft's `inject_adapter_in_model`), so the
encoder stays the same Hugging Face class and the module's state dict holds base weights and
adapters under stable names: a checkpoint reloads into a freshly built `LoRAModule`.
"""

from __future__ import annotations

import logging
from typing import Any

from nlp_transfer.strategies.base import TransferModule

log = logging.getLogger(__name__)


class LoRAModule(TransferModule):
    """Frozen encoder with LoRA adapters (peft) + a fully trained head.

    Args (beyond `TransferModule`):
        r: rank of each update.
        lora_alpha: α; the update is scaled by α / r.
        lora_dropout: dropout on the adapter's input.
        target_modules: names of the linear layers that get adapters (BERT: query, value).
        bias: `none`, `all` or `lora_only`: which biases train as well.
    """

    def __init__(
        self,
        *args: Any,
        r: int = 8,
        lora_alpha: float = 16,
        lora_dropout: float = 0.1,
        target_modules: list[str] | tuple[str, ...] = ("query", "value"),
        bias: str = "none",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        from peft import LoraConfig, inject_adapter_in_model  # heavy: only when the strategy is built

        config = LoraConfig(
            r=r,
            lora_alpha=lora_alpha,
            lora_dropout=lora_dropout,
            target_modules=list(target_modules),
            bias=bias,
        )
        try:
            self.encoder = inject_adapter_in_model(config, self.encoder)
        except ValueError as err:
            linear = sorted({name.rsplit(".", 1)[-1] for name, m in self.encoder.named_modules()
                             if type(m).__name__ == "Linear"})  # fmt: skip
            raise ValueError(
                f"LoRA target_modules={list(target_modules)} do not match {type(self.encoder).__name__}: "
                f"its linear layers are named {linear}. Set strategy.target_modules accordingly. ({err})"
            ) from err
        trainable = self.trainable_parameter_count()
        total = sum(p.numel() for p in self.parameters())
        log.info(
            "LoRA (r=%d, alpha=%s, on %s): %d of %d parameters trainable (%.2f%%)",
            r,
            lora_alpha,
            ",".join(target_modules),
            trainable,
            total,
            100.0 * trainable / total,
        )

    def trainable_fraction(self) -> float:
        """Trainable parameters over all parameters (adapters and head over everything)."""
        return self.trainable_parameter_count() / sum(p.numel() for p in self.parameters())
