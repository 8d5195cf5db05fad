"""Our pygeoapi provider plugin: reads the OGC views through the portal's own SQLAlchemy session
(no second engine, no credentials in pygeoapi's configuration) with the request's scope.

pygeoapi loads it by its dotted path (portal.ogc.provider.ViewProvider), once per request, in
the request's context: current_scope() is the signed-in account's or the bearer token's.
"""

from __future__ import annotations

from pygeoapi.provider.base import (
    BaseProvider,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)

from portal.ogc import services
from portal.ogc.collections import COLLECTIONS, DATE, DATETIME
from portal.security import current_scope


def field_schema(kind: str) -> dict:
    if kind in (DATE, DATETIME):
        return {"type": "string", "format": kind}
    return {"type": kind}


class ViewProvider(BaseProvider):
    """Features of one collection of portal.ogc.collections (provider `data`: its id)."""

    def __init__(self, provider_def):
        super().__init__(provider_def)
        self.collection = COLLECTIONS[self.data]
        self.id_field = "id"
        self.get_fields()

    def get_fields(self) -> dict:
        if not self._fields:
            self._fields = {
                name: field_schema(kind) for name, kind in self.collection.fields.items()
            }
        return self._fields

    def query(
        self,
        offset=0,
        limit=10,
        resulttype="results",
        bbox=None,
        datetime_=None,
        properties=None,
        sortby=None,
        select_properties=None,
        skip_geometry=False,
        q=None,
        filterq=None,
        **kwargs,
    ) -> dict:
        # not served (no CQL, no free text, no time): ignoring them would answer every
        # feature as if it matched
        for name, given in (("filter", filterq), ("q", q), ("datetime", datetime_)):
            if given:
                raise ProviderInvalidQueryError(user_msg=f"{name} is not supported")
        try:
            return services.page(
                self.collection.id,
                current_scope(),
                offset=offset,
                limit=limit,
                bbox=bbox or [],
                properties=properties or [],
                sortby=sortby or [],
                select_properties=select_properties or [],
                skip_geometry=skip_geometry,
                resulttype=resulttype,
            )
        except services.BadValue as exc:  # pygeoapi answers this one 400 (JSON), not 500
            raise ProviderInvalidQueryError(user_msg=f"invalid value for {exc}") from None

    def get(self, identifier, **kwargs) -> dict:
        found = services.feature(self.collection.id, current_scope(), str(identifier))
        if found is None:
            raise ProviderItemNotFoundError("item not found")
        return found
