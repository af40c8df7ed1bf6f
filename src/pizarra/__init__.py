"""Pizarra — a local, offline laboratory for understanding language models."""

__version__ = "0.1.0"
