"""The PySide6 desktop interface (the only package, with app.py, that imports Qt)."""
