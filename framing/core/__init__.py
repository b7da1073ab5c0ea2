"""Lowest layer: labels and other constants, tables and column mapping."""
