"""kerasfix: a linter and migration tool for Keras code."""

__version__ = "0.1.0"
