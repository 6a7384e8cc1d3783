"""minilm's extension module; use the minilm package (minilm.Encoder)."""

from typing import Annotated

import numpy
from numpy.typing import NDArray


version: str = '0.1.0'

def register_errors(model_error: type, input_error: type) -> None:
    """
    The classes minilm's errors are raised as: ModelError for a model that cannot be used, InputError for a text or an argument (minilm/_errors.py).
    """

def quantize(model: str, out: str, outliers: int = 8) -> str:
    """
    Writes the int8 copy of a model folder into the new folder out (minilm/quantize.hpp); returns its weights file.
    """

class Model:
    """
    A loaded model folder: minilm::encoder. Thread-safe; calls release the GIL.
    """

    def __init__(self, path: str, threads: int = 1, normalize: bool | None = None, pooling: str | None = None, max_seq_length: int = 0) -> None:
        """
        Maps the folder's model.safetensors read-only and loads its tokenizer. threads: per call, the caller's included; 0 is one per hardware thread. normalize, pooling ("mean", "cls", "max", "mean_sqrt_len"), max_seq_length (0): None or 0 take the folder's values.
        """

    def encode_into(self, texts: list[str], out: Annotated[NDArray[numpy.float32], dict(shape=(None, None), order='C', device='cpu')], prompt_name: str | None = None, prompt: str | None = None) -> None:
        """
        Writes the embeddings of texts (a list of str) into out, a C-contiguous float32 array of shape (len(texts), dimension).
        """

    def encode_tokens(self, texts: list[str], prompt_name: str | None = None, prompt: str | None = None) -> tuple[Annotated[NDArray[numpy.float32], dict(shape=(None, None))], list[int]]:
        """
        (states, offsets): every token's last hidden state, (n_tokens, dimension) float32, text i's rows states[offsets[i]:offsets[i + 1]].
        """

    def tokenize(self, texts: list[str], prompt_name: str | None = None, prompt: str | None = None) -> list[list[int]]:
        """
        The ids the model is fed for each text, special tokens and prompt included, truncated to max_seq_length.
        """

    def prompt_length(self, prompt_name: str | None = None, prompt: str | None = None) -> int:
        """
        How many tokens at the start of each sequence are the prompt's ([CLS] / <s> included); 0 without one.
        """

    def set_max_seq_length(self, n: int) -> None:
        """
        Reopens the folder with another max_seq_length; calls already running finish with the old one.
        """

    @property
    def path(self) -> str:
        """The model folder."""

    @property
    def dimension(self) -> int: ...

    @property
    def max_seq_length(self) -> int: ...

    @property
    def pooling(self) -> str: ...

    @property
    def normalize(self) -> bool: ...

    @property
    def precision(self) -> str: ...

    @property
    def threads(self) -> int: ...

    @property
    def model_type(self) -> str: ...

    @property
    def prompts(self) -> dict[str, str]:
        """The folder's named prompts, name -> text."""

    @property
    def default_prompt_name(self) -> str | None: ...
