"""Label spaces: label ids are fixed by the task config, never by the order labels appear in a file."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nlp_transfer.data.errors import DataError


class LabelSpace:
    """An ordered list of label names; `encode` refuses labels the task did not declare."""

    def __init__(self, names: Sequence[str]) -> None:
        names = list(names)
        if not names:
            raise DataError("A task must declare at least one label (task.labels is empty).")
        if len(set(names)) != len(names):
            raise DataError(f"Duplicate label names in task.labels: {names}")
        self.names = names
        self._ids = {name: index for index, name in enumerate(names)}

    def __len__(self) -> int:
        return len(self.names)

    def encode(self, labels: Iterable[str], where: str = "") -> list[int]:
        """Label strings to ids; an unknown label names the file and the declared set."""
        ids = []
        unknown: set[str] = set()
        for label in labels:
            index = self._ids.get(label)
            if index is None:
                unknown.add(label)
            else:
                ids.append(index)
        if unknown:
            raise DataError(
                f"Labels {sorted(unknown)} in {where or 'the data'} are not in the task's label set "
                f"{self.names}. Add them to task.labels or map them to declared labels."
            )
        return ids
