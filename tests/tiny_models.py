"""Helpers that build tiny models for tests (importable: setup.cfg puts tests/ on the path)."""

from __future__ import annotations

from pathlib import Path


def with_working_tokenizer(src: Path, dst: Path) -> Path:
    """The tiny BERT of ``src`` with a tokenizer that knows the whole vocabulary.

    conftest builds its tokenizer with ``BertTokenizerFast(vocab_file=...)``; transformers 5
    ignores that keyword and keeps only the 5 special tokens, so every word becomes [UNK]
    and texts of equal length encode alike. Same weights here, with the vocabulary passed
    as ``vocab=``; where conftest's tokenizer already works this is just a copy.
    """
    import shutil

    import transformers

    dst.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copyfile(src / name, dst / name)
    words = (src / "vocab.txt").read_text(encoding="utf-8").splitlines()
    tok = transformers.BertTokenizerFast(vocab_file=str(src / "vocab.txt"))
    if len(tok) < len(words):
        tok = transformers.BertTokenizerFast(vocab={w: i for i, w in enumerate(words)})
    tok.save_pretrained(dst)
    check = transformers.AutoTokenizer.from_pretrained(dst)
    assert check.is_fast and "[UNK]" not in check.tokenize("the people did good work")
    return dst
