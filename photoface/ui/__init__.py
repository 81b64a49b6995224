"""The PySide6 desktop interface (Qt is imported only here, in app.py and bench/window.py)."""
