"""The street layer: OpenStreetMap roads under the maps, and streets found by name."""
