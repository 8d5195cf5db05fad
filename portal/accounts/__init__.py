"""Account management for city admins."""
