"""Area browser."""
