"""Streets: road lines from OpenStreetMap, drawn under the maps and found by name.

Data © OpenStreetMap contributors, under the Open Database License (ODbL 1.0): every map that
draws them shows the attribution (static/js/streets.js). Rows are replaced per source file by
`flask import-streets` (portal.streets.services.import_file).
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class Street(db.Model):
    __tablename__ = "streets"
    __table_args__ = (
        CheckConstraint("(name IS NULL) = (name_search IS NULL)", name="ck_streets_name_search"),
        CheckConstraint("min_zoom BETWEEN 0 AND 22", name="ck_streets_min_zoom"),
        Index("ix_streets_geom", "geom", postgresql_using="gist"),
        Index("ix_streets_source", "source"),
        Index(
            "ix_streets_name_search_trgm",
            "name_search",
            postgresql_using="gin",
            postgresql_ops={"name_search": "gin_trgm_ops"},
            postgresql_where=text("name_search IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(200))
    name_search: Mapped[str | None] = mapped_column(String(200))  # portal.text.fold(name)
    highway: Mapped[str | None] = mapped_column(String(30))  # OSM's class; None when unknown
    min_zoom: Mapped[int] = mapped_column(SmallInteger)  # the first zoom that draws it
    source: Mapped[str] = mapped_column(String(60))  # the file it came from
    geom = mapped_column(
        Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=False
    )
