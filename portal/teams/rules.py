"""The law's rules on team size, as the province's sizing rule (data, not code) sets them."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Sizing:
    min_members: int
    max_members: int | None
    max_deputies: int
    population_base: int | None = None
    population_step: int | None = None

    def needed(self, population: int | None) -> int:
        """Members a team needs for the people it covers (a floor, or a population formula)."""
        needed = self.min_members
        if self.population_base is not None and population and population > self.population_base:
            needed += math.ceil((population - self.population_base) / self.population_step)
        return needed

    def size_problem(self, size: int, population: int | None) -> str | None:
        """ "understaffed", "overstaffed" or None."""
        if size < self.needed(population):
            return "understaffed"
        if self.max_members is not None and size > self.max_members:
            return "overstaffed"
        return None


HANOI = Sizing(min_members=3, max_members=5, max_deputies=1)
