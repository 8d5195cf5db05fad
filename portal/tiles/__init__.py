"""Mapbox vector tiles of the villages for the city-wide maps (issue 17)."""
