"""Benchmark commands that print figures: detection, scan, embedding, clustering, albums, and the
window on a big library (window.py, the only one with Qt)."""
