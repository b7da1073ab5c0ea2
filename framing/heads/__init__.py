"""Trained and few-shot heads over the shared encoder: tone, cues, frames."""
