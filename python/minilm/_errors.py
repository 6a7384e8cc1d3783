"""minilm's exceptions. The extension module raises them (minilm._minilm.register_errors)."""

from __future__ import annotations


class Error(Exception):
    """Any error minilm reports.

    code names its kind, stable for code to branch on: "io", "invalid_safetensors", "invalid_json",
    "invalid_config", "missing_tensor", "invalid_tensor", "invalid_tokenizer", "unsupported",
    "invalid_text" or "invalid_argument". text_index is the position in the call's list of the text
    at fault, or None.
    """

    def __init__(self, message: str, code: str = "", text_index: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.text_index = text_index


class ModelError(Error, OSError):
    """The model cannot be found or used: a missing or malformed file, a field or a tensor minilm
    cannot use. Also an OSError, as sentence-transformers raises for a model it cannot find."""


class InputError(Error, ValueError):
    """A text or an argument cannot be used. Also a ValueError."""


for _cls in (Error, ModelError, InputError):
    _cls.__module__ = "minilm"
