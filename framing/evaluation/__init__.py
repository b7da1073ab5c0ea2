"""The evaluation harness and suites."""
