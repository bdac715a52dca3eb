"""The registry type of catalogue transforms: each transform module fills its own, `kerasfix.checks.transforms` merges them."""

from __future__ import annotations

from typing import Callable


class TransformRegistry(dict[str, Callable]):
    """Transforms by the name an entry's `transform` key gives, filled by decorating: `@transform("rename-layer")`."""

    def __call__(self, name: str) -> Callable[[Callable], Callable]:
        def register(function: Callable) -> Callable:
            if name in self:
                raise ValueError(f"transform {name!r} is registered twice in {function.__module__}")
            self[name] = function
            return function

        return register
