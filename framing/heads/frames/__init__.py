"""Article-level frame heads and scorers."""
