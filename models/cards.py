"""Sections of a model card (``README.md`` beside the artefact) that scripts write."""

from __future__ import annotations

from pathlib import Path


def set_card_section(card_path: str | Path, section: str) -> None:
    """Write ``section`` (Markdown beginning ``## Heading``) into the card at
    ``card_path``: an existing section of the same heading is replaced where it stands
    (up to the next ``## `` heading), a new one is appended; other sections are kept."""
    card_path = Path(card_path)
    section = section.strip("\n")
    heading = section.splitlines()[0]
    if not heading.startswith("## "):
        raise ValueError("a card section begins with a '## ' heading")
    lines = card_path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    if heading in lines:
        start = lines.index(heading)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
        body = section.split("\n") + ([""] if end < len(lines) else [])
        lines[start:end] = body
    else:
        lines += [""] + section.split("\n")
    card_path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
