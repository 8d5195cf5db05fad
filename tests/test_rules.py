"""Team size rules as data: Hanoi's 3 to 5, and Ho Chi Minh City's population formula."""

import pytest

from portal.teams.rules import HANOI, Sizing

# Ho Chi Minh City: 3 members up to 2,700 residents, one more up to 3,600, one per further 900
HCMC = Sizing(
    min_members=3, max_members=None, max_deputies=2, population_base=2700, population_step=900
)


@pytest.mark.parametrize(
    ("population", "needed"),
    [(None, 3), (1000, 3), (2700, 3), (2701, 4), (3600, 4), (3601, 5), (4500, 5), (4501, 6)],
)
def test_hcmc_formula(population, needed):
    assert HCMC.needed(population) == needed


@pytest.mark.parametrize(
    ("size", "problem"), [(2, "understaffed"), (3, None), (5, None), (6, "overstaffed")]
)
def test_hanoi_three_to_five(size, problem):
    assert HANOI.size_problem(size, 50_000) == problem


def test_hcmc_has_no_upper_bound_but_needs_more_people_for_more_residents():
    assert HCMC.size_problem(4, 4000) == "understaffed"
    assert HCMC.size_problem(12, 4000) is None
