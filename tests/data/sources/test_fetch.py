"""The fetch layer: local raw files win, downloads land in the raw folder, no network fails fast."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from nlp_transfer.data.sources.fetch import (
    DownloadFailedError,
    NetworkUnavailableError,
    RawFetcher,
    RawFile,
    SourceError,
)

from .conftest import CLOSED_PORT_URL, RawFolder

NER_TRAIN = RawFile("zliucr/CrossNER", "2e7ba2a7798c961e3f29fbc51252c5a8d40224bf", "ner_data/ai/train.txt")


def test_raw_file_names_the_pinned_github_url_and_a_clone_like_local_path(tmp_path: Path) -> None:
    assert NER_TRAIN.url() == (
        "https://raw.githubusercontent.com/zliucr/CrossNER/"
        "2e7ba2a7798c961e3f29fbc51252c5a8d40224bf/ner_data/ai/train.txt"
    )
    assert NER_TRAIN.local_path(tmp_path) == tmp_path / "CrossNER" / "ner_data" / "ai" / "train.txt"


def test_a_file_already_in_the_raw_folder_is_used_without_network(raw: RawFolder) -> None:
    path = raw.put(NER_TRAIN, "EU\tB-organisation\n")
    assert raw.fetcher.get(NER_TRAIN) == path


def test_unreachable_host_fails_fast_with_a_message_about_network_and_raw_dir(raw: RawFolder) -> None:
    start = time.monotonic()
    with pytest.raises(NetworkUnavailableError) as caught:
        raw.fetcher.get(NER_TRAIN)
    assert time.monotonic() - start < 5
    message = str(caught.value)
    assert f"{CLOSED_PORT_URL}zliucr/CrossNER/" in message
    assert "needs network access" in message
    assert "--raw-dir DIR" in message
    assert "DIR/CrossNER/ner_data/ai/train.txt" in message
    assert "git checkout 2e7ba2a7798c961e3f29fbc51252c5a8d40224bf" in message
    assert isinstance(caught.value, SourceError)
    assert not NER_TRAIN.local_path(raw.dir).exists()


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[str]:
    """A raw-content host on localhost serving tmp_path/site."""
    site = tmp_path / "site"
    site.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_download_stores_the_file_in_the_raw_folder_and_reuses_it(tmp_path: Path, local_server: str) -> None:
    served = tmp_path / "site" / NER_TRAIN.repo / NER_TRAIN.commit / NER_TRAIN.path
    served.parent.mkdir(parents=True)
    served.write_bytes("Jürgen\tB-researcher\n".encode())
    fetcher = RawFetcher(tmp_path / "raw", base_url=local_server, timeout=5)

    path = fetcher.get(NER_TRAIN)

    assert path == tmp_path / "raw" / "CrossNER" / "ner_data" / "ai" / "train.txt"
    assert path.read_bytes() == "Jürgen\tB-researcher\n".encode()
    assert [p.name for p in path.parent.iterdir()] == ["train.txt"]  # no partial file left behind
    served.unlink()
    assert fetcher.get(NER_TRAIN) == path  # second call does not download


def test_missing_file_on_a_reachable_host_is_a_download_error(tmp_path: Path, local_server: str) -> None:
    fetcher = RawFetcher(tmp_path / "raw", base_url=local_server, timeout=5)
    with pytest.raises(DownloadFailedError, match="HTTP 404"):
        fetcher.get(NER_TRAIN)
