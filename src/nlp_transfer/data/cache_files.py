"""Writing cache files atomically, and failing clearly (never half-written) when the cache cannot be written.

Parallel jobs of a sweep may write the same cache file at once. Each writes its own uniquely named temp
file in the target folder, then renames it over the target (`os.replace` is atomic), so a reader sees
either no file or a whole one. A write that fails (read-only or full disk, a path through a regular file)
removes its temp file and raises `CacheError` naming the directory and the `NLP_TRANSFER_CACHE` fix.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from nlp_transfer.data.errors import CACHE_ENV_VAR, CacheError


def cache_error(directory: Path, err: OSError) -> CacheError:
    """The error for a cache directory that cannot be written, with the reason and the fix."""
    reason = err.strerror or str(err)
    code = errno.errorcode.get(err.errno or 0)
    full = err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    fix = "Free space there" if full else "Make it writable"
    return CacheError(
        err.errno,
        f"Cannot write the cache directory {directory}: {reason}{f' ({code})' if code else ''}. {fix}, or "
        f"point the cache at a writable disk with `export {CACHE_ENV_VAR}=/path/to/cache` "
        f"(or `paths.cache_dir=/path/to/cache`).",
    )


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Create `path` from what `write` puts into a binary file handle, atomically; no temp file survives."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("xb") as handle:
            write(handle)
        os.replace(tmp, path)
    except OSError as err:
        raise cache_error(path.parent, err) from err
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # the folder itself is unusable: then no temp file could be created either
            pass
