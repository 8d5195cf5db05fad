"""Incidents and tips for staff: the commune's triage queue, an item's page and its steps, the
incidents teams record, and the maps of where things happen."""
