"""Counselling's pure rules (no database, no Flask; "today" is a parameter)."""
