"""The tiles each web worker keeps: a bounded least-recently-used store of tile bodies.

Keys carry everything a tile shows (layer, the reader's scope, the layer's parameters, z/x/y
and the generation numbers of the data it was made from), so an entry is never stale: a
change moves a generation, new keys are asked for, and old entries age out of the store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

MAX_BYTES = 64 * 2**20  # a city's tiles at every zoom a planner looks at, for a few scopes
MAX_ENTRIES = 50_000  # empty tiles weigh nothing: bound their count too


class TileCache:
    def __init__(self, max_bytes: int = MAX_BYTES, max_entries: int = MAX_ENTRIES):
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self._kept: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """The kept body for key (now the most recently used), or make()'s, kept from now."""
        with self._lock:
            body = self._kept.get(key)
            if body is not None:
                self._kept.move_to_end(key)
                self.hits += 1
                return body
            self.misses += 1
        body = make()  # outside the lock: two requests may make the same tile; both are right
        with self._lock:
            if key not in self._kept and len(body) <= self.max_bytes:
                self._kept[key] = body
                self._bytes += len(body)
                while self._bytes > self.max_bytes or len(self._kept) > self.max_entries:
                    _old, dropped = self._kept.popitem(last=False)
                    self._bytes -= len(dropped)
        return body

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._kept)


TILES = TileCache()


def forget_tiles() -> None:
    """Drop every kept tile (tests reuse generation numbers from one rolled-back test to the
    next)."""
    TILES.clear()
