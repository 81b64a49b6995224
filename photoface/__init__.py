"""photoface: find the people in a personal photo library, entirely on the user's own machine."""

__version__ = "0.1.0"
