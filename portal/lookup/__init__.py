"""The citizens' look-up: which team and which police keep a place safe (public, no sign-in)."""
