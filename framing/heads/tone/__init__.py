"""Tone scorers: the trained target-aware branch, baselines, Hugging Face classifiers."""
