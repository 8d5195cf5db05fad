"""Duty time per member per day and month, and the monthly duty sheets to sign."""
