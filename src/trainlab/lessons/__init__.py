"""Lessons that are not a training run: they show how training works."""
