"""OGC API – Features (issue 17): the portal's layers for GIS clients at /ogc/."""
