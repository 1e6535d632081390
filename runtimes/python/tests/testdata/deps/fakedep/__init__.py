"""A dependency found through PYTHONPATH (tests only)."""
NAME = 'fakedep'
