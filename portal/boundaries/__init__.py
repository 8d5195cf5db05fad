"""Boundary import: one core shared by the CLI and (later) the web upload."""
