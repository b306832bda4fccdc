"""A bounded mapping for the adapters' small in-memory caches (recent message texts, thread
members, origins of events): the standard library has none with eviction by age of writing."""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A bounded mapping that forgets the least recently written entries first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: collections.OrderedDict[K, V] = collections.OrderedDict()

    def get(self, key: K) -> V | None:
        return self._data.get(key)

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def pop(self, key: K) -> V | None:
        return self._data.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def keys(self) -> list[K]:
        """Oldest written first."""
        return list(self._data)

    def drop_where(self, unwanted: Callable[[V], bool]) -> int:
        """Remove every entry whose value is ``unwanted``; how many went."""
        keys = [key for key, value in self._data.items() if unwanted(value)]
        for key in keys:
            del self._data[key]
        return len(keys)
