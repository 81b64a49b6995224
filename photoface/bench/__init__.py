"""Benchmark commands that print figures: detection, scan, embedding, clustering, albums, and the
window on a big library (window.py, which times it through photoface.ui.timing: no Qt here)."""
