"""Patrols: the team leader's home, patrol routes, the patrol log, GPS tracks, and the
planners' view of patrol activity."""
