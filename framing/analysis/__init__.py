"""Comparing outlets, reports, validation samples."""
