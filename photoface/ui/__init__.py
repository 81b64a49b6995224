"""The PySide6 desktop interface (Qt is imported only here and in app.py)."""
