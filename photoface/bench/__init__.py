"""Benchmark commands that print figures (no Qt): detection, scan speed, clustering, albums."""
