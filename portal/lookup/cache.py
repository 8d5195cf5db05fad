"""What the public look-up keeps in each worker for a while: cards and map outlines.

They change by decisions, not by the minute, and each costs queries (a card) or tens of
milliseconds (a map of a city's communes). LOOKUP_CARD_SECONDS says how long; 0 keeps nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app


class TimedCache:
    MAX_ENTRIES = 20_000  # a card is about a kilobyte; past this the cache starts again

    def __init__(self):
        self._kept: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The kept value for key, or make() kept from now on."""
        seconds = current_app.config["LOOKUP_CARD_SECONDS"]
        if not seconds:
            return make()
        now = time.monotonic()
        kept = self._kept.get(key)
        if kept is None or kept[0] < now:
            if len(self._kept) >= self.MAX_ENTRIES:
                self._kept.clear()
            kept = (now + seconds, make())
            self._kept[key] = kept
        return kept[1]

    def clear(self) -> None:
        self._kept.clear()
