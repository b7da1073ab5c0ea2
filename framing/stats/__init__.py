"""Statistics on arrays and tables, without torch: classification metrics and calibration
(:mod:`framing.stats.metrics`); intervals, effect sizes and tests for comparing groups
(:mod:`framing.stats.inference`)."""
