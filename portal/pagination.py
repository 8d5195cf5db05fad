"""Pages of long lists: every list the portal shows is paginated through here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, literal, select

from portal.extensions import db


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int
    notes: dict = field(default_factory=dict)  # per-item figures a list shows (e.g. counts)

    @property
    def has_more(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def first_number(self) -> int:
        return (self.page - 1) * self.per_page + 1


def paginate(
    query: Select,
    page: int = 1,
    per_page: int | None = None,
    *,
    rows: bool = False,
    total: int | None = None,
) -> Page:
    """Run one page of an ordered select() of entities (or of rows), and count the whole
    (unless the caller knows the total already)."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    page = max(page, 1)
    one_page = query.limit(per_page).offset((page - 1) * per_page)
    result = db.session.execute(one_page).all() if rows else db.session.scalars(one_page)
    items = list(result)
    # counted over the query's rows without its columns: an entity's shapes or JSON are not
    # read just to be counted
    if total is None:
        counted = query.order_by(None).with_only_columns(literal(1), maintain_column_froms=True)
        total = db.session.scalar(select(func.count()).select_from(counted.subquery()))
    return Page(items, page, per_page, total)
