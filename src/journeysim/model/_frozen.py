"""An immutable, picklable mapping for frozen dataclasses (internal).

``types.MappingProxyType`` cannot be pickled or deep-copied, and models must
travel to worker processes, so this small class stands in for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

__all__ = ["FrozenMap"]

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V]):
    """A read-only mapping.

    Examples
    --------
    >>> m = FrozenMap({"a": 1})
    >>> m["a"], len(m), m == {"a": 1}
    (1, 1, True)
    >>> import pickle
    >>> pickle.loads(pickle.dumps(m)) == m
    True
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[K, V] | None = None) -> None:
        self._data: dict[K, V] = dict(data or {})

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._data,))

    def __hash__(self) -> int:
        return hash(tuple(self._data.items()))
