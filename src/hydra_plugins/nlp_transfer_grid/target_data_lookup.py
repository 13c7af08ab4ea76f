"""Whether a strategy class trains on target data, read from its source code without importing it.

The grid sweeper must know this for every job before any job runs, and importing a strategy would import
torch and Lightning. The class attribute `uses_target_data` (nlp_transfer/strategies/base.py) stays the one
place that says it: this reads the attribute with `ast`, following base classes through `from … import`
lines. Whatever it cannot resolve counts as target-using, so a job is never merged away wrongly.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ATTRIBUTE = "uses_target_data"
MAX_DEPTH = 16


def module_file(module: str) -> Path | None:
    """The `.py` file of a dotted module name, found without importing the module or its package."""
    top, _, rest = module.partition(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations is None:  # a plain module: no submodules
        return Path(spec.origin) if not rest and spec.origin else None
    for location in spec.submodule_search_locations:
        base = Path(location).joinpath(*rest.split(".")) if rest else Path(location)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _imported_names(tree: ast.Module, module: str, is_package: bool) -> dict[str, tuple[str, str]]:
    """Local name → (module, name) for the module's top-level `from … import …` lines."""
    names = {}
    package = module if is_package else module.rpartition(".")[0]
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - (node.level - 1)])
            origin = f"{base}.{node.module}" if node.module else base
        else:
            origin = node.module or ""
        for alias in node.names:
            names[alias.asname or alias.name] = (origin, alias.name)
    return names


def _assigned_flag(cls: ast.ClassDef) -> tuple[bool, bool | None]:
    """(found, value) of `uses_target_data = <bool>` in the class body; a non-constant value is None."""
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == ATTRIBUTE for t in targets):
            constant = isinstance(value, ast.Constant) and isinstance(value.value, bool)
            return True, value.value if constant else None
    return False, None


def _class_flag(module: str, class_name: str, depth: int = 0) -> bool | None:
    """`uses_target_data` of `module.class_name`, searching bases left to right; None if unresolved."""
    path = module_file(module)
    if path is None or depth > MAX_DEPTH:
        return None
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = _imported_names(tree, module, path.name == "__init__.py")
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    cls = classes.get(class_name)
    if cls is None:  # re-exported from another module
        return _class_flag(*imported[class_name], depth + 1) if class_name in imported else None
    found, value = _assigned_flag(cls)
    if found:
        return value
    for base in cls.bases:
        if not isinstance(base, ast.Name):
            return None  # `package.Class` bases are not followed: unresolved
        if base.id in classes:
            flag = _class_flag(module, base.id, depth + 1)
        elif base.id in imported:
            flag = _class_flag(*imported[base.id], depth + 1)
        else:
            flag = None
        if flag is not None:
            return flag
    return None


def trains_on_target_data(class_path: str) -> bool:
    """True unless the class at `class_path` (a `_target_`) provably sets `uses_target_data = False`."""
    module, _, class_name = class_path.rpartition(".")
    return _class_flag(module, class_name) is not False
