"""Retention of personal data: reporters' contacts after the period the city sets, and the
addresses and keyed hashes kept for abuse limits once they are of no use (issue 18)."""
