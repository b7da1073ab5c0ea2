"""Synthetic scores tables for the comparison, report and sampling tests (no models)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

CUES = ("win_win", "mutual_respect", "counter_criticism")
NARRATIVE = ("conflict", "economic", "human_interest", "morality", "resolution")
POLICY = ("economic", "capacity_resources", "morality", "fairness_equality", "legality",
          "policy_prescription", "crime_punishment", "security_defense", "health_safety",
          "quality_of_life", "cultural_identity", "public_opinion", "political",
          "external_regulation")
FRAMES = {"narrative": NARRATIVE, "policy": POLICY}


def make_scores(
    sizes: Mapping[str, int],
    *,
    tone_mean: Mapping[str, float] | None = None,
    prevalence: Mapping[str, Mapping[str, float]] | None = None,
    cues: Sequence[str] = CUES,
    base_prevalence: float = 0.3,
    tone_sd: float = 0.3,
    seed: int = 0,
    start: str = "2026-01-01",
    days: int = 180,
    frames: Mapping[str, Sequence[str]] | None = None,
    frame_prevalence: Mapping[str, Mapping[str, float]] | None = None,
    base_frame_prevalence: float = 0.3,
) -> pd.DataFrame:
    """A table shaped like ``score_corpus`` output: one row per article.

    ``sizes``: articles per outlet; ``tone_mean``: the true mean tone per outlet
    (default 0); ``prevalence``: per outlet, per cue, the chance the cue is flagged
    (default ``base_prevalence``).

    ``frames``: frame schemes to add, ``{scheme: ids}`` (e.g. :data:`FRAMES`), as
    ``frame_<scheme>_<id>`` / ``frame_<scheme>_<id>_present`` columns and a
    ``frames_present`` column; ``frame_prevalence``: per outlet, per ``scheme:id``, the
    chance the frame is present (default ``base_frame_prevalence``). Frames are drawn
    from their own random stream, so every other column is the same with or without
    them."""
    rng = np.random.default_rng(seed)
    frng = np.random.default_rng([seed, 7])
    rows = []
    day0 = pd.Timestamp(start)
    for outlet, n in sizes.items():
        mu = (tone_mean or {}).get(outlet, 0.0)
        tone = np.clip(rng.normal(mu, tone_sd, n), -1, 1)
        for i in range(n):
            t = float(tone[i])
            label = "promotional" if t > 0.2 else "critical" if t < -0.2 else "neutral"
            logits = np.array([-2 * t, 0.3, 2 * t]) + rng.normal(0, 0.5, 3)
            p = np.exp(logits) / np.exp(logits).sum()
            row = {"row": len(rows) + 1, "id": f"{outlet[:3].lower()}-{i:04d}", "outlet": outlet,
                   "date": (day0 + pd.Timedelta(days=int(rng.integers(0, days)))).strftime("%Y-%m-%d"),
                   "title": f"{outlet} story {i}", "tone": t, "tone_label": label,
                   "tone_scorer": "synthetic", "n_sentences": int(rng.integers(3, 15)),
                   "language": "en", "flags": "", "error": None,
                   "tone_p_critical": p[0], "tone_p_neutral": p[1], "tone_p_promotional": p[2]}
            present = []
            for c in cues:
                q = (prevalence or {}).get(outlet, {}).get(c, base_prevalence)
                flag = bool(rng.random() < q)
                prob = float(rng.uniform(0.5, 1.0) if flag else rng.uniform(0.0, 0.5))
                row[f"cue_{c}"] = prob
                row[f"cue_{c}_present"] = flag
                row[f"cue_{c}_evidence"] = f"evidence for {c}" if flag else None
                if flag:
                    present.append(c)
            row["cues_present"] = ";".join(present)
            if frames:
                hits = []
                for scheme, ids in frames.items():
                    for f in ids:
                        q = (frame_prevalence or {}).get(outlet, {}).get(f"{scheme}:{f}",
                                                                         base_frame_prevalence)
                        flag = bool(frng.random() < q)
                        prob = float(frng.uniform(0.5, 1.0) if flag else frng.uniform(0.0, 0.5))
                        row[f"frame_{scheme}_{f}"] = prob
                        row[f"frame_{scheme}_{f}_present"] = flag
                        if flag:
                            hits.append((prob, f"{scheme}:{f}"))
                row["frames_present"] = ";".join(t for _, t in sorted(hits, reverse=True))
            rows.append(row)
    return pd.DataFrame(rows)
