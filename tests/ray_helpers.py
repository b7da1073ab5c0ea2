"""Helpers for tests that start Ray (importable: setup.cfg puts tests/ on the path)."""

from __future__ import annotations


def start_local_ray(ray, num_cpus: int, tries: int = 3) -> None:
    """Start a local Ray instance (no dashboard, no worker logs, no progress bars), trying
    again when its node misses Ray's fixed 30 s registration window, as it may on a
    loaded machine ("timed out during startup")."""
    for attempt in range(tries):
        try:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                     ignore_reinit_error=True)
            break
        except Exception as exc:  # Ray raises a bare Exception for this one
            ray.shutdown()
            if "timed out during startup" not in str(exc) or attempt == tries - 1:
                raise
    ray.data.DataContext.get_current().enable_progress_bars = False
