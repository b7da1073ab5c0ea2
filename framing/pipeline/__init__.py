"""The Analyzer: prepare, encode once, run the heads, assemble results."""
