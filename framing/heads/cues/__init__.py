"""Cue detection: trained cue heads, few-shot exemplars, phrase patterns."""
