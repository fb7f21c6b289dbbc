"""Prefect tasks of duban: one per stage step and per I/O edge, retries declared where the I/O is."""
