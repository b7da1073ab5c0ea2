"""Shared fixtures: the real default analyzer, a tiny random BERT, and a network guard."""

from __future__ import annotations

import socket
import string
from pathlib import Path

import pytest

import framing

# About a hundred common English words, so the tiny tokenizer sees whole words.
_COMMON_WORDS = """
the of and to in is it that was for on are as with his they at be this from have or
by one had not but what all were when we there can an your which their said if do
will each about how up out them then she many some so these would other into has
more her two like him see time could no make than first been its who now people my
made over did down only way find use may water long little very after words called
just where most know get through back much before go good new write our used me man
too any day same right look think also around another came come work three word
must because does part even place well such here take why things help put years
different away again off went old number great tell men say small every found still
between name should home big give air line set own under read last never us left
end along while might next sound below saw something thought both few those always
""".split()

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _vocab() -> list[str]:
    chars = list(string.ascii_lowercase) + list(string.digits)
    tokens = SPECIAL_TOKENS + chars + list(string.punctuation)
    # Word-piece continuations, so words outside the list split into letters instead of
    # all collapsing into [UNK] (which would make different texts encode alike).
    tokens += ["##" + c for c in chars]
    tokens += [w for w in dict.fromkeys(_COMMON_WORDS) if len(w) > 1]
    return list(dict.fromkeys(tokens))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random 2-layer BERT with a fast tokenizer, saved as safetensors."""
    import torch
    import transformers

    path = tmp_path_factory.mktemp("tiny-bert")
    vocab = _vocab()
    vocab_file = path / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, max_position_embeddings=128)
    model = transformers.BertModel(config)
    model.save_pretrained(path, safe_serialization=True)
    # transformers 5 ignores vocab_file= here; the vocabulary must be passed as a mapping
    tokenizer = transformers.BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)})
    tokenizer.save_pretrained(path)
    assert len(set(tokenizer("alpha beta")["input_ids"]) - set(tokenizer.all_special_ids)) > 0
    assert (path / "model.safetensors").is_file()
    assert (path / "config.json").is_file()
    return path


@pytest.fixture(scope="session")
def tiny_encoder(tiny_model_dir) -> framing.Encoder:
    """An :class:`~framing.Encoder` on the tiny BERT, shared by the whole session."""
    return framing.Encoder(tiny_model_dir)


@pytest.fixture(scope="session")
def tiny_analyzer(tiny_model_dir) -> framing.Analyzer:
    return framing.Analyzer(tiny_model_dir, tone="similarity")


@pytest.fixture(scope="session")
def default_analyzer() -> framing.Analyzer:  # marks its users real_model (below)
    """The real default analyzer (bundled all-MiniLM-L6-v2), built once per session."""
    return framing.Analyzer()


class NetworkCalls:
    """Counts attempts to reach the network while :func:`no_network` is active."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []

    def __len__(self) -> int:
        return len(self.calls)

    def guard(self, name: str):
        def refuse(*args, **kwargs):
            self.calls.append((name, args))
            raise OSError(f"network access attempted in a test: {name}{args!r}")

        return refuse


@pytest.fixture
def no_network(monkeypatch) -> NetworkCalls:
    """Make every socket connect / DNS lookup raise, and count the attempts.

    The Hugging Face offline switches are turned *off*, so a test using this fixture
    shows that framing itself, not the environment, keeps the run offline.
    """
    calls = NetworkCalls()
    monkeypatch.setattr(socket.socket, "connect", calls.guard("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", calls.guard("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", calls.guard("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", calls.guard("socket.getaddrinfo"))
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    try:  # the hub library reads the variable at import; reset its cached value too
        import huggingface_hub.constants as hub_constants

        monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False, raising=False)
    except ImportError:  # pragma: no cover
        pass
    return calls


def pytest_collection_modifyitems(config, items):
    """Tests that load the real all-MiniLM-L6-v2 carry the ``real_model`` marker, so that
    ``-m "not real_model"`` runs the fast tier alone: those using the
    ``default_analyzer`` fixture, and those in modules that declare it themselves."""
    for item in items:
        if "default_analyzer" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real_model)
