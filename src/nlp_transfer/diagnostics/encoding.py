"""Frozen sentence features of one domain's labeled train split, encoded once per backbone and cached on disk.

Every score and distance of `nlp-transfer diagnose` reads these. A split larger than `cap` examples is
subsampled without replacement under a fixed seed (the default cap, 2,000, keeps a 2-core CPU at a few
minutes per backbone for MiniLM; the scores' ranking is stable well below it). Texts are tokenized as the
task tokenizes them for training (its `max_length` and truncation), encoded in eval mode and pooled by the
mean over real tokens: both packaged backbones were trained as sentence encoders with mean pooling.

The features are stored with the feature cache's table format (`features/store.py`, written
atomically) under `<cache_dir>/features/diagnostics/<key>.pt`. The key holds the backbone's config
(which names fixed weights: a package, a checksummed archive, a hub id or a seeded random init), the
pooling and the sha256 of the token ids (file content, subsample, tokenizer, max_length, truncation), so
a second call reads the file without loading the encoder at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: examples per split beyond which a split is subsampled (fixed seed)
DEFAULT_CAP = 2000
POOLING = "mean"
FORMAT = 1


@dataclass(frozen=True)
class DomainFeatures:
    """(n, D) float32 features and (n,) integer labels (ids of the task's label list) of one split."""

    features: np.ndarray
    labels: np.ndarray


def subsample(count: int, cap: int, seed: int) -> np.ndarray:
    """Indices (sorted) of at most `cap` of `count` examples, drawn without replacement under `seed`."""
    if count <= cap:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size=cap, replace=False))


def labeled_split(task: Any, domain: str, cap: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Texts and label ids of a domain's train split (subsampled to `cap`)."""
    from nlp_transfer.data.jsonl import read_classification_split, split_path
    from nlp_transfer.data.label_space import LabelSpace

    path = split_path(task.data_dir, domain, "train")
    texts, labels = read_classification_split(path)
    ids = LabelSpace(list(task.labels), task.get("label_map")).encode(labels, where=str(path), domain=domain)
    keep = subsample(len(texts), cap, seed)
    return [texts[i] for i in keep], np.asarray(ids, dtype=np.int64)[keep]


def encode(encoder: Any, sequences: list[np.ndarray], pad_id: int, batch_size: int = 32) -> np.ndarray:
    """Mean-pooled last-layer features (n, hidden) of token-id sequences, batched by length."""
    import torch

    from nlp_transfer.models.backbone import hidden_size
    from nlp_transfer.models.pooling import pool

    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    out = np.zeros((len(sequences), hidden_size(encoder)), dtype=np.float32)
    encoder.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(sequences[i]) for i in rows)
            ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for row, i in enumerate(rows):
                ids[row, : len(sequences[i])] = torch.as_tensor(sequences[i], dtype=torch.long)
                mask[row, : len(sequences[i])] = 1
            hidden = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            out[rows] = pool(hidden, mask, POOLING).float().numpy()
    return out


def feature_key(backbone: dict, sequences: list[np.ndarray]) -> str:
    """What determines the features: the backbone's config (minus where it is cached) and the token ids."""
    from nlp_transfer.features.store import sequences_digest

    config = json.loads(json.dumps(backbone, default=str))
    for part in ("encoder", "tokenizer"):
        (config.get(part) or {}).pop("cache_dir", None)
    identity = {"backbone": config, "pooling": POOLING, "format": FORMAT, "ids": sequences_digest(sequences)}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


def domain_features(
    cfg: Any, domain: str, cap: int, seed: int, tokenizer: Any, encoder: Callable[[], Any]
) -> DomainFeatures:
    """Cached frozen features of `domain`'s train split under the composed config `cfg` (task, backbone).

    `encoder` builds (or returns the already built) encoder; it is called only on a cache miss.
    """
    import torch
    from omegaconf import OmegaConf

    from nlp_transfer.data.tokenization import tokenize
    from nlp_transfer.features.store import FeatureTable

    task = cfg.task
    texts, labels = labeled_split(task, domain, cap, seed)
    tokenized = tokenize(texts, tokenizer, task.max_length, task.truncation, task.head_fraction)
    sequences = [tokenized[i] for i in range(len(tokenized))]
    backbone = OmegaConf.to_container(cfg.backbone, resolve=True)
    path = Path(cfg.paths.cache_dir) / "features" / "diagnostics" / f"{feature_key(backbone, sequences)}.pt"
    table = FeatureTable.load(path, len(sequences))
    if table is None:
        log.info("Encoding %s/%s with %s (%d texts)", task.name, domain, cfg.backbone.name, len(texts))
        features = encode(encoder(), sequences, tokenizer.pad_token_id or 0)
        table = FeatureTable(torch.from_numpy(features), torch.arange(len(features) + 1), token_level=False)
        table.save(
            path, {"backbone": cfg.backbone.name, "task": task.name, "domain": domain, "pooling": POOLING}
        )
    return DomainFeatures(table.rows.numpy().astype(np.float32), labels)
