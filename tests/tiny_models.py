"""Helpers for tests: tiny models they build, and a training run killed after an epoch
(importable: setup.cfg puts tests/ on the path)."""

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


def tiny_tone_branch(encoder, dest: Path, *, seed: int = 3, card: str = "# a tiny test branch\n",
                     layer: int = 1) -> Path:
    """A one-layer tone branch on layer 1 of the tiny BERT behind ``encoder`` (its layer
    copied, a random marker and head, seeded), saved as a tone model in ``dest``;
    ``layer=2`` gives a head on the last layer instead (no layer copies)."""
    import torch

    from framing.encoding.fingerprints import encoder_fingerprint
    from framing.heads.tone.model import branch_classes, save_tone_model

    BertStyleLayer, ToneBranch = branch_classes()
    cfg = encoder.model.config
    torch.manual_seed(seed)
    copies = cfg.num_hidden_layers - layer
    module = ToneBranch(cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size, copies,
                        cfg.layer_norm_eps)
    for i in range(copies):
        module.layers[i] = BertStyleLayer.from_bert_layer(encoder.model.encoder.layer[layer + i],
                                                          cfg)
    with torch.no_grad():
        module.marker.normal_(0, 0.1)
        module.head.weight.normal_(0, 0.5)
    config = {"layer": layer, "n_layers": copies, "hidden": cfg.hidden_size,
              "heads": cfg.num_attention_heads, "intermediate": cfg.intermediate_size,
              "eps": cfg.layer_norm_eps, "temperature": 1.0, "name": "tiny-branch",
              "encoder": encoder_fingerprint(encoder)}
    return save_tone_model(dest, module.eval(), config, card)


def die_after_epoch(monkeypatch, epoch: int = 1) -> None:
    """Make ``train_tone`` save its checkpoint after ``epoch`` and then stop with
    :class:`KeyboardInterrupt`, as a killed run would; ``monkeypatch.undo()`` (or the end of
    a ``monkeypatch.context()``) lets the next run go on."""
    import framing.training.tone as tone_module

    real_save = tone_module._Checkpoint.save

    def save_then_die(self, done, *args, **kwargs):
        real_save(self, done, *args, **kwargs)
        if done == epoch:
            raise KeyboardInterrupt(f"killed after epoch {epoch}")

    monkeypatch.setattr(tone_module._Checkpoint, "save", save_then_die)
