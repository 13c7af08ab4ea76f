"""Read the scalars of TensorBoard event files without TensorFlow or the tensorboard package.

An event file is a TFRecord stream: each record is a little-endian uint64 length, a uint32 masked CRC of
the length, the payload (a serialized `Event` protobuf) and a uint32 masked CRC of the payload. Scalars
sit in `event.summary.value` as `simple_value` (tensorboardX, torch's writer) or as a one-element float
tensor (newer writers). Used by tests to prove that metrics were really written, not just printed.
"""

from __future__ import annotations

import struct
from pathlib import Path


def iter_events(path: Path) -> list[bytes]:
    """The serialized `Event` payloads of one event file, in order."""
    data, pos, payloads = Path(path).read_bytes(), 0, []
    while pos + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[pos : pos + 8])
        start = pos + 12  # length, then the CRC of the length
        payloads.append(data[start : start + length])
        pos = start + length + 4  # payload, then its CRC
    return payloads


def scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """tag → [(step, value), ...] over every `events.out.tfevents.*` file under `log_dir`."""
    from tensorboardX.proto.event_pb2 import Event

    found: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(Path(log_dir).rglob("events.out.tfevents.*")):
        for payload in iter_events(path):
            event = Event()
            event.ParseFromString(payload)
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    number = value.simple_value
                elif value.tensor.float_val:
                    number = value.tensor.float_val[0]
                else:
                    continue  # an image, histogram or text summary
                found.setdefault(value.tag, []).append((event.step, number))
    return found
