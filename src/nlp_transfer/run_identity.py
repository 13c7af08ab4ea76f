"""A run's identity is its config: what a rerun into the same run dir may skip, resume, or must refuse.

A fixed `run_id` (or a sweep's per-job subfolder) sends a rerun into the dir of an earlier run. Whether
that earlier run's results or `last.ckpt` may stand for the new command depends on *what* was run, so
train.py stores an identity in `<run dir>/run_identity.json` when a run starts (before the first
checkpoint: a run killed with SIGKILL has no results.json, but its last.ckpt must not be resumed under
another config) and its fingerprint in results.json. A rerun compares:

* the **config fingerprint**: sha256 of the resolved config minus what cannot change the result (paths,
  names, loggers, progress and checkpoint-writing settings, `force`/`ckpt_path`; see `EXCLUDED_KEYS`),
  with path values rewritten relative to `paths.*` (a moved project or data root is the same run).
  Checked before anything is built: same → skip a finished run / resume its last.ckpt; different → a
  `RunConfigMismatch` naming the differing keys and the two ways out (`force=true`, another `run_id`).
* the **data checksums** (sha256 of every file the run reads, which the datamodule computes anyway while
  building; content, not mtime, so a copied or touched data folder is still the same data). Compared
  after the datamodule is built and before training: a changed file refuses the resume the same way.
  A *finished* run is skipped on the config fingerprint alone; its results.json lists the checksums it
  was trained on (`data.checksums`), and `force=true` retrains it on the current files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from nlp_transfer.results.record import RESULTS_FILE

log = logging.getLogger(__name__)

IDENTITY_FILE = "run_identity.json"

#: dotted keys of the resolved config that cannot change a run's result (where it runs, what it is
#: called, how it logs or shows progress, how often it writes last.ckpt, whether it may be re-done)
EXCLUDED_KEYS = (
    "paths",
    "run_id",
    "run_name",
    "force",
    "ckpt_path",
    "keep_checkpoints",  # what a finished run keeps on disk, not what it trained
    "export",  # whether a finished run also writes a Hugging Face folder
    "hydra",
    "logger",  # W&B / CSV settings
    "callbacks.progress_bar",
    "callbacks.throughput",
    "callbacks.last_checkpoint",  # how often last.ckpt is written, not what is trained
    "callbacks.model_checkpoint.dirpath",
    "callbacks.model_checkpoint.filename",
    "trainer.default_root_dir",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "trainer.log_every_n_steps",
    "task.data_dir",  # the data itself is compared by checksum
    "task.cache_dir",
    "backbone.encoder.cache_dir",  # where a pieced backbone is unpacked (its weights are checksummed)
    "backbone.tokenizer.cache_dir",
    # how CPU training attention draws its dropout pattern and keeps what backward needs, not what it
    # computes: the same formula and dropout distribution, other random numbers (as another thread count
    # gives other roundings; tests/models/test_recomputed_attention.py), so runs from before still match
    "backbone.encoder.recompute_attention",
    # AdamW's fused kernel or torch's per-tensor loop: the same update arithmetic in another order of
    # roundings (tests/strategies/test_fused_optimizer.py), so runs from before the fused default still match
    "strategy.optimizer.fused",
    "task.num_workers",  # batches come from the main process's sampler: same data, same order
    "selection.log_scores",
)


class RunConfigMismatch(RuntimeError):
    """The run dir holds a run of another config (or other data) than the one asked for."""


def identity_config(resolved: dict[str, Any]) -> dict[str, Any]:
    """The part of a resolved config that decides a run's result, path values made root-relative."""
    roots = sorted(
        ((key, str(value)) for key, value in (resolved.get("paths") or {}).items() if value),
        key=lambda item: len(item[1]),
        reverse=True,
    )
    return _relative_paths(_without_excluded(resolved), roots)


def _without_excluded(config: dict[str, Any]) -> dict[str, Any]:
    """A deep copy (plain JSON values) of `config` without `EXCLUDED_KEYS`."""
    config = json.loads(json.dumps(config, default=str))
    for dotted in EXCLUDED_KEYS:
        *parents, leaf = dotted.split(".")
        node = config
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return config


def _relative_paths(value: Any, roots: list[tuple[str, str]]) -> Any:
    """`/home/me/project/logs/x` → `${paths.log_dir}/x`: where the project lives is not what ran."""
    if isinstance(value, dict):
        return {key: _relative_paths(item, roots) for key, item in value.items()}
    if isinstance(value, list):
        return [_relative_paths(item, roots) for item in value]
    if isinstance(value, str):
        for name, root in roots:
            if value == root or value.startswith(root.rstrip("/") + "/"):
                return "${paths." + name + "}" + value[len(root) :]
    return value


def fingerprint(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def run_identity(cfg: DictConfig) -> dict[str, Any]:
    """`{"fingerprint", "config"}` of a composed job config (`config`: what the fingerprint hashes)."""
    config = identity_config(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
    return {"fingerprint": fingerprint(config), "config": config}


def differing_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two configs (a key present in only one counts)."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new), key=str)
        found: list[str] = []
        for key in keys:
            found += differing_keys(old.get(key), new.get(key), f"{prefix}{key}.")
        return found
    return [] if old == new else [prefix.rstrip(".")]


def stored_identity(output_dir: str | Path) -> dict[str, Any] | None:
    """The identity of the run already in `output_dir`, else None (also for runs from before identities).

    A results.json without a stored identity (written before this existed) still holds its resolved
    config, from which the identity is recomputed.
    """
    path = Path(output_dir) / IDENTITY_FILE
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:  # a hand-edited file; the writer is atomic
            log.warning("Ignoring unreadable %s", path)
    results = Path(output_dir) / RESULTS_FILE
    if results.is_file():
        try:
            resolved = json.loads(results.read_text(encoding="utf-8")).get("config", {}).get("resolved")
        except ValueError:
            return None
        if isinstance(resolved, dict):
            config = identity_config(resolved)
            return {"fingerprint": fingerprint(config), "config": config}
    return None


def check_identity(output_dir: str | Path, identity: dict[str, Any], has_past_work: bool) -> None:
    """Refuse to run in a dir whose finished run or resumable checkpoint came from another config.

    `has_past_work`: the dir holds a finished record or a checkpoint that a rerun would return or resume.
    Without such work (a run that failed before its first checkpoint) there is nothing to mix up.
    """
    stored = stored_identity(output_dir)
    if stored is None or not has_past_work:
        return
    # re-filtered: a key that a newer version of EXCLUDED_KEYS leaves out does not count against old runs
    stored_config = _without_excluded(stored.get("config") or {})
    if identity["fingerprint"] in (stored.get("fingerprint"), fingerprint(stored_config)):
        return
    keys = differing_keys(stored_config, identity["config"]) or ["(unknown: no stored config)"]
    raise RunConfigMismatch(_mismatch_message(output_dir, keys))


def check_data(output_dir: str | Path, identity: dict[str, Any], checksums: dict[str, str]) -> None:
    """Refuse to resume a run whose data files changed since it started; then record the checksums.

    Called once the datamodule is built, before training. `identity["data"]` holds the checksums of the
    attempt this run resumes (carried over by `resume.claim_run_dir`), or nothing for a fresh start.
    """
    stored = identity.get("data") or {}
    changed = [f"data:{key}" for key in sorted(stored) if key in checksums and stored[key] != checksums[key]]
    if changed:
        raise RunConfigMismatch(_mismatch_message(output_dir, changed))
    identity["data"] = {**stored, **checksums}


def _mismatch_message(output_dir: str | Path, keys: list[str]) -> str:
    shown = ", ".join(keys[:12]) + (f" and {len(keys) - 12} more" if len(keys) > 12 else "")
    return (
        f"{output_dir} holds a run of another config (differing: {shown}); its results or last.ckpt "
        f"cannot stand for this one. Either pass force=true to discard that run and train this config "
        f"there from scratch, or give this config its own dir with another run_id=…"
    )


def write_identity(output_dir: str | Path, identity: dict[str, Any]) -> Path:
    """Store `identity` (fingerprint, config, and `data` checksums once known) atomically."""
    path = Path(output_dir) / IDENTITY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(identity, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
