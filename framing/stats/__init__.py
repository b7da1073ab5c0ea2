"""Statistics on arrays and tables: metrics, intervals, tests (no torch)."""
