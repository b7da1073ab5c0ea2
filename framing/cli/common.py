"""Option parsing that more than one command needs."""

from __future__ import annotations

from typing import Any

__all__ = ["parse_label_map", "add_backend_option", "add_device_option", "BACKEND_CHOICES"]

#: ``Analyzer(backend=...)`` values, as :data:`framing.pipeline.onnx_backend.BACKENDS`
#: has them (written out so that parsing arguments imports no model code; a test checks
#: that the two agree)
BACKEND_CHOICES = ("auto", "torch", "onnx", "onnx-fp32")


def add_backend_option(parser: Any) -> None:
    """Add ``--backend auto|torch|onnx-fp32|onnx`` (default auto) to a command that builds an
    Analyzer."""
    parser.add_argument(
        "--backend", choices=BACKEND_CHOICES, default="auto",
        help="auto (default): the float32 ONNX Runtime graph (onnx-fp32, torch's scores, "
             "faster) where it is installed and serves the default models, else torch; "
             "torch, onnx-fp32 or onnx (int8: faster, slightly less accurate) to choose "
             "(the ONNX ones need pip install \"framing[onnx]\"; the graph is exported "
             "once, on first use)")


def add_device_option(parser: Any, what: str = "the encoder and the trained branches run") -> None:
    """Add ``--device`` (default cpu) to a command that runs torch models."""
    parser.add_argument(
        "--device", default="cpu",
        help=f"torch device {what} on: cpu (default), cuda, cuda:N, mps, or auto (a CUDA GPU "
             "when torch sees one); a device torch cannot use here is a usage error")


def parse_label_map(text: str | None) -> dict[str, str] | None:
    """``"neg=critical,pos=promotional"`` as a dict; None for an empty or missing option.

    Raises ValueError (reported by the CLI as a usage error) for an entry that is not
    of the form ``key=value`` with both sides non-empty.
    """
    if not text:
        return None
    mapping: dict[str, str] = {}
    for entry in text.split(","):
        key, equals, value = entry.partition("=")
        key, value = key.strip(), value.strip()
        if not equals or not key or not value:
            raise ValueError(f"label map entries look like a=b; got {entry!r}")
        mapping[key] = value
    return mapping
