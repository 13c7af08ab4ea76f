"""Refuse a run that cannot do what its config claims, before it trains; each refusal names key and fix.

Two stages. `check_config` reads the composed config only (no torch, so a typo costs no imports): numeric
keys that hold a string or a value out of range (`task.batch_size=abc`), and budgets that train zero steps
(`trainer.max_steps=0`). `check_parts` runs once the data and the model are built, before any batch: a
`task.max_length` beyond the backbone's position embeddings, an optimizer given an argument its class does
not take (`fused` kept after swapping AdamW for another optimizer), and a domain-adaptation strategy whose
domain loss could never be computed with the configured batches (MMD/CORAL with one text per batch).
Budgets whose validation never runs are refused by `callbacks.validation_budget`, which sees Lightning's
own batch counts.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf


class ConfigError(ValueError):
    """A config value that would make the run fail later, or succeed at something other than it claims."""


@dataclass(frozen=True)
class Rule:
    """What a numeric key accepts: `int` or `number`, a range, null or not, and an example for the fix."""

    kind: str  # "int" | "number" | "limit" (batch limit: int count or float share) | "interval"
    minimum: float = -math.inf
    maximum: float = math.inf
    nullable: bool = False
    example: str = "1"

    def problem(self, value: Any) -> str | None:
        """Why `value` breaks the rule, or None when it is fine."""
        if value is None:
            return None if self.nullable else "must be set"
        if self.kind == "interval" and isinstance(value, (str, dict, DictConfig)):
            return None  # Lightning's time-based validation ("00:01:00:00" or {"minutes": 30})
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be {'an integer' if self.kind == 'int' else 'a number'}"
        if self.kind == "int" and not isinstance(value, int):
            return "must be an integer"
        if self.kind in ("limit", "interval") and isinstance(value, float) and not 0.0 <= value <= 1.0:
            return "as a float is a share of the epoch and must lie in [0, 1] (an int counts batches)"
        if not self.minimum <= value <= self.maximum:
            return f"must lie in [{self.minimum:g}, {self.maximum:g}]"
        return None


POSITIVE = Rule("int", minimum=1, example="16")
STEPS = Rule("int", minimum=-1, example="100")  # -1: no limit
#: numeric keys at fixed places in the composed config
KEY_RULES: dict[str, Rule] = {
    "seed": Rule("int", example="42"),
    "task.batch_size": POSITIVE,
    "task.eval_batch_size": Rule("int", minimum=1, example="64"),
    "task.max_length": Rule("int", minimum=2, example="256"),
    "task.max_train_examples": Rule("int", minimum=1, nullable=True, example="1000"),
    "task.max_eval_examples": Rule("int", minimum=1, nullable=True, example="1000"),
    "task.num_workers": Rule("int", minimum=0, example="2"),
    "task.head_fraction": Rule("number", minimum=0, maximum=1, example="0.25"),
    "trainer.max_epochs": Rule("int", minimum=-1, nullable=True, example="3"),
    "trainer.max_steps": STEPS,
    "trainer.min_steps": Rule("int", minimum=-1, nullable=True, example="10"),
    "trainer.val_check_interval": Rule("interval", minimum=0, nullable=True, example="1.0"),
    "trainer.check_val_every_n_epoch": Rule("int", minimum=1, nullable=True, example="1"),
    "trainer.limit_train_batches": Rule("limit", minimum=0, nullable=True, example="1.0"),
    "trainer.limit_val_batches": Rule("limit", minimum=0, nullable=True, example="1.0"),
    "trainer.limit_test_batches": Rule("limit", minimum=0, nullable=True, example="1.0"),
    "trainer.log_every_n_steps": Rule("int", minimum=1, example="10"),
    "trainer.accumulate_grad_batches": Rule("int", minimum=1, example="1"),
    "trainer.gradient_clip_val": Rule("number", minimum=0, nullable=True, example="1.0"),
    "trainer.num_sanity_val_steps": Rule("int", minimum=-1, example="0"),
}
_ABSENT = object()
RATE = Rule("number", minimum=0, example="5e-5")
SHARE = Rule("number", minimum=0, maximum=1, example="0.1")
COUNT = Rule("int", minimum=1, nullable=True, example="256")
#: numeric settings anywhere under `strategy` (optimizer, scheduler, head, discriminator), by their name
STRATEGY_RULES: dict[str, Rule] = {
    **dict.fromkeys(["lr", "weight_decay", "domain_loss_weight", "warmup_gamma", "lambda_gamma"], RATE),
    **dict.fromkeys(["lambda_max", "lr_divisor", "ratio", "mlm_weight", "lora_alpha"], RATE),
    **dict.fromkeys(["dropout", "lora_dropout", "warmup_ratio", "cut_frac", "mlm_probability"], SHARE),
    **dict.fromkeys(["hidden_dim", "max_domain_rows", "max_map_dim", "randomized_dim"], COUNT),
    **dict.fromkeys(["num_layers", "r", "unfreeze_every_n_steps"], COUNT),
    "dapt_steps": Rule("int", minimum=0, example="0"),
    "unfreeze_fraction": Rule("number", minimum=0, maximum=1, nullable=True, example="0.5"),
}


def _strategy_leaves(node: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every entry under the strategy node that a rule names."""
    if isinstance(node, DictConfig):
        for key in map(str, node):
            if OmegaConf.is_missing(node, key):
                continue
            value = node[key]
            if isinstance(value, (DictConfig, ListConfig)):
                yield from _strategy_leaves(value, f"{prefix}.{key}")
            elif key in STRATEGY_RULES:
                yield f"{prefix}.{key}", value


def type_problems(cfg: DictConfig) -> list[str]:
    """One line per numeric key holding the wrong type or an impossible value, naming key, value and fix."""
    found = []
    entries = [(key, OmegaConf.select(cfg, key, default=_ABSENT), rule) for key, rule in KEY_RULES.items()]
    entries = [entry for entry in entries if entry[1] is not _ABSENT]
    entries += [(key, value, STRATEGY_RULES[key.rsplit(".", 1)[-1]]) for key, value in
                _strategy_leaves(cfg.get("strategy"), "strategy")]  # fmt: skip
    for key, value, rule in entries:
        if (problem := rule.problem(value)) is not None:
            found.append(f"{key} {problem}, got {value!r}; e.g. `{key}={rule.example}`")
    return found


def zero_step_problems(trainer: Any) -> list[str]:
    """A budget that trains no step at all: the run would report an untrained model as `ok`."""
    found = []
    if trainer.get("max_steps") == 0:
        found.append("trainer.max_steps=0 trains no step; use -1 (no step limit) or a positive count")
    if trainer.get("max_epochs") == 0:
        found.append("trainer.max_epochs=0 trains no epoch; use a positive count (or -1 with max_steps)")
    if trainer.get("limit_train_batches") in (0, 0.0) and trainer.get("limit_train_batches") is not None:
        found.append("trainer.limit_train_batches=0 trains no batch; use a positive count or share (1.0)")
    return found


def check_config(cfg: DictConfig) -> None:
    """Refuse wrong-typed numeric keys and zero-step budgets, all at once, before anything heavy loads.

    Raises:
        ConfigError: listing every problem, each with its key and a fix.
    """
    problems = type_problems(cfg)
    if not problems:  # a budget read from wrong types would only repeat the type problems
        problems = zero_step_problems(cfg.get("trainer") or {})
    if problems:
        raise ConfigError("Refusing to train:\n  - " + "\n  - ".join(problems))


#: models whose position ids start after the padding index: `padding_idx + 1` embeddings are no position
OFFSET_POSITIONS = {"roberta", "xlm-roberta", "camembert", "mpnet", "longformer", "data2vec-text", "xmod"}


def position_limit(config: Any) -> int | None:
    """Longest sequence the encoder embeds (None: relative positions only, as DeBERTa-v3)."""
    if getattr(config, "position_biased_input", True) is False:
        return None
    positions = getattr(config, "max_position_embeddings", None)
    if not isinstance(positions, int) or positions <= 0:
        return None
    if getattr(config, "model_type", "") in OFFSET_POSITIONS:
        positions -= (getattr(config, "pad_token_id", None) or 0) + 1
    return positions


def check_parts(cfg: DictConfig, datamodule: Any, model: Any, encoder: Any) -> None:
    """Refuse, before the first batch, what the built parts show cannot work (see the module docstring).

    Raises:
        ConfigError: naming the key to change and the value that would work.
    """
    limit = position_limit(getattr(encoder, "config", None))
    max_length = datamodule.max_length
    if limit is not None and max_length > limit:
        raise ConfigError(
            f"task.max_length={max_length} exceeds the {limit} positions of backbone "
            f"{cfg.backbone.name!r}: the first longer batch would crash. Use `task.max_length={limit}` "
            f"(or less), or a backbone with more positions."
        )
    check_optimizer_arguments(getattr(model, "optimizer_factory", None))
    min_rows = getattr(model, "min_domain_rows", None)
    if min_rows is None:
        return
    strategy = type(model).__name__
    max_rows = getattr(model, "max_domain_rows", None)
    if max_rows is not None and max_rows < min_rows:
        raise ConfigError(
            f"strategy.max_domain_rows={max_rows}: {strategy}'s domain loss needs at least {min_rows} rows "
            f"per domain, so it would be skipped on every step. Use `strategy.max_domain_rows={min_rows}` "
            f"or more (or null)."
        )
    rows = datamodule.task_level.guaranteed_rows(datamodule.batch_size)
    if rows is not None and rows < min_rows:
        raise ConfigError(
            f"task.batch_size={datamodule.batch_size}: {strategy}'s domain loss needs at least {min_rows} "
            f"texts per domain in a batch, so it would be skipped on every step (plain fine-tuning under "
            f"a domain-adaptation name). Use `task.batch_size={max(min_rows, 2)}` or more."
        )


def check_optimizer_arguments(factory: Any) -> None:
    """Refuse `strategy.optimizer` keys its class does not take: Lightning builds the optimizer only when
    training starts, so the TypeError would come after the data and model were loaded (a `_partial_`)."""
    target, keywords = getattr(factory, "func", None), getattr(factory, "keywords", None) or {}
    if target is None:
        return
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):  # a builtin without a signature: let it speak for itself
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    unknown = sorted(set(keywords) - set(parameters))
    if unknown:
        name = f"{target.__module__}.{target.__qualname__}"
        raise ConfigError(
            f"strategy.optimizer: {name} takes no argument {', '.join(unknown)}. Remove it with "
            + " ".join(f"`~strategy.optimizer.{key}`" for key in unknown)
            + " (the default AdamW's `fused: true` stays behind when only `_target_` is changed)."
        )
