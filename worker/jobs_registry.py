from __future__ import annotations

import importlib
from collections.abc import Callable


def resolve(dotted: str) -> Callable:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)
