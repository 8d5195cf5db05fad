"""Framework-free geospatial toolkit: Shapely, pyproj and folium; no Flask, no database."""
