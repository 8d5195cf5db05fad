"""API tokens (issue 17): a GIS client's way in to the staff layers of /ogc/."""
