"""Label spaces: label ids are fixed by the task config, never by the order labels appear in a file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from nlp_transfer.data.errors import DataError


class LabelSpace:
    """An ordered list of label names; `encode` refuses labels the task did not declare.

    `mapping` (domain → {label in that domain's files → shared label}) is how a task whose domains
    use different label sets declares one shared set; a label that is neither declared nor mapped is
    an error naming the file, never a silent relabelling.
    """

    def __init__(self, names: Sequence[str], mapping: Mapping[str, Mapping[str, str]] | None = None) -> None:
        names = list(names)
        if not names:
            raise DataError("A task must declare at least one label (task.labels is empty).")
        if len(set(names)) != len(names):
            raise DataError(f"Duplicate label names in task.labels: {names}")
        self.names = names
        self._ids = {name: index for index, name in enumerate(names)}
        self.mapping = {domain: dict(table) for domain, table in (mapping or {}).items()}
        for domain, table in self.mapping.items():
            bad = sorted({shared for shared in table.values() if shared not in self._ids})
            if bad:
                raise DataError(
                    f"label_map for domain {domain!r} maps onto {bad}, which are not in task.labels {names}"
                )

    def map(self, label: str, domain: str | None = None) -> str:
        """A domain's own label name → the shared label name (identity where no mapping is declared)."""
        return self.mapping.get(domain, {}).get(label, label) if domain else label

    def __len__(self) -> int:
        return len(self.names)

    def encode(self, labels: Iterable[str], where: str = "", domain: str | None = None) -> list[int]:
        """Label strings to ids (after the domain's mapping); an unknown label names the file."""
        ids = []
        unknown: set[str] = set()
        for label in labels:
            index = self._ids.get(self.map(label, domain))
            if index is None:
                unknown.add(label)
            else:
                ids.append(index)
        if unknown:
            raise DataError(
                f"Labels {sorted(unknown)} in {where or 'the data'} are not in the task's label set "
                f"{self.names}. Add them to task.labels or map them with task.label_map."
            )
        return ids
