"""Raw source files: where each lives upstream and how it reaches the local disk.

Every dataset is pinned to one repository commit, so a file is fully named by (repository, commit,
path). Files are looked up first under a local raw folder that mirrors the repositories
(``<raw_dir>/<repository name>/<path>``, i.e. what ``git clone`` at that commit gives); only files
missing there are downloaded, and they are stored in that same place so a second run needs no network.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

GITHUB_RAW_BASE = "https://raw.githubusercontent.com/"
DEFAULT_TIMEOUT_S = 10.0


class SourceError(Exception):
    """A raw source file could not be obtained; the message says what to do instead."""


class NetworkUnavailableError(SourceError):
    """The download host could not be reached at all (offline, DNS failure, refused, timed out)."""


class DownloadFailedError(SourceError):
    """The host answered, but not with the file (e.g. HTTP 404 after a repository was moved)."""


@dataclass(frozen=True)
class RawFile:
    """One file of an upstream repository at a pinned commit."""

    repo: str  # "owner/name"
    commit: str
    path: str  # path inside the repository, "/"-separated

    @property
    def repo_name(self) -> str:
        return self.repo.split("/", 1)[1]

    def url(self, base_url: str = GITHUB_RAW_BASE) -> str:
        """Raw-content URL of this file at its commit."""
        return f"{base_url.rstrip('/')}/{self.repo}/{self.commit}/{self.path}"

    def local_path(self, raw_dir: Path) -> Path:
        """Where the file sits in a raw folder laid out like clones of the repositories."""
        return Path(raw_dir, self.repo_name, *self.path.split("/"))


def _offline_message(raw: RawFile, url: str, reason: object) -> str:
    return (
        f"cannot download {url} ({reason}).\n"
        "Preparing the data from the original sources needs network access to raw.githubusercontent.com.\n"
        "Without network: get the original files elsewhere (e.g. `git clone https://github.com/"
        f"{raw.repo}` and `git checkout {raw.commit}`) and pass --raw-dir DIR, where DIR holds one folder "
        f"per repository, laid out as in the repository; this file is expected at "
        f"DIR/{raw.repo_name}/{raw.path}."
    )


class RawFetcher:
    """Resolves raw files to local paths, downloading the missing ones into ``raw_dir``.

    ``base_url`` exists so tests can point downloads at a closed local port instead of GitHub.
    """

    def __init__(
        self, raw_dir: Path, base_url: str = GITHUB_RAW_BASE, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.raw_dir = Path(raw_dir)
        self.base_url = base_url
        self.timeout = timeout

    def get(self, raw: RawFile) -> Path:
        """Local path of ``raw``; downloads it first when the raw folder does not have it."""
        target = raw.local_path(self.raw_dir)
        if target.is_file():
            return target
        self._download(raw, target)
        return target

    def _download(self, raw: RawFile, target: Path) -> None:
        url = raw.url(self.base_url)
        log.info("downloading %s", url)
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                target.parent.mkdir(parents=True, exist_ok=True)
                # Write next to the target and rename, so an interrupted download never looks complete.
                fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".part-")
                with os.fdopen(fd, "wb") as tmp:
                    shutil.copyfileobj(response, tmp)
                os.replace(tmp_name, target)
        except urllib.error.HTTPError as err:
            raise DownloadFailedError(
                f"{url} answered HTTP {err.code}; the repository or commit may have moved. "
                f"Put the original file at {target} (see --raw-dir) and run again."
            ) from err
        except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
            reason = getattr(err, "reason", err)
            raise NetworkUnavailableError(_offline_message(raw, url, reason)) from err
