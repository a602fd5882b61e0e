"""Package faces that import a module on first use of one of its names (PEP 562), so that a
light caller (a CSV backtest) does not load what it does not use (the database stack, ccxt)."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_names(package: str, names: dict[str, str], namespace: dict) -> Callable[[str], object]:
    """The module `__getattr__` of `package`: `names` maps each lazy public name to the module
    that defines it (relative to `package`, or a full dotted path); the value is kept in the
    package's `namespace` once imported."""

    def __getattr__(name: str) -> object:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target = names[name]
        module = importlib.import_module(target if "." in target else f"{package}.{target}")
        value = namespace[name] = getattr(module, name)
        return value

    return __getattr__
