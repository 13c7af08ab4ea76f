"""Read the history rows of an offline W&B run file (`run-<id>.wandb`) without syncing it.

The file is a LevelDB-style log: a 7-byte header (":W&B", 0xBEE1, version), then 32 KiB blocks of
chunks, each with a 7-byte header (crc32, length uint16, type: 1 full, 2 first, 3 middle, 4 last)
holding serialized `wandb_internal_pb2.Record` protobufs. Used by tests to prove that metrics were
really logged to W&B, not just printed.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

BLOCK = 32768
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def iter_records(path: Path) -> list[bytes]:
    data = Path(path).read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path} is not a W&B run file")
    records, pending, pos = [], b"", HEADER
    while pos + HEADER <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < HEADER:
            pos += left_in_block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        chunk = data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind == 0 and length == 0:
            break
        if kind == FULL:
            records.append(chunk)
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            records.append(pending + chunk)
            pending = b""
    return records


def history_rows(run_file: Path) -> list[dict]:
    """Every `history` record of the run as {metric key: value}."""
    from wandb.proto import wandb_internal_pb2 as pb

    rows = []
    for raw in iter_records(run_file):
        record = pb.Record()
        record.ParseFromString(raw)
        if record.WhichOneof("record_type") == "history":
            rows.append(
                {
                    item.key or "/".join(item.nested_key): json.loads(item.value_json)
                    for item in record.history.item
                }
            )
    return rows


def run_info(run_file: Path) -> dict:
    """The run record of an offline run: group, job type, name, tags and config (values JSON-decoded)."""
    from wandb.proto import wandb_internal_pb2 as pb

    for raw in iter_records(run_file):
        record = pb.Record()
        record.ParseFromString(raw)
        if record.WhichOneof("record_type") == "run":
            run = record.run
            return {
                "group": run.run_group,
                "job_type": run.job_type,
                "name": run.display_name,
                "tags": list(run.tags),
                "config": {item.key: json.loads(item.value_json) for item in run.config.update},
            }
    raise ValueError(f"{run_file} holds no run record")
