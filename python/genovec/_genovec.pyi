"""Type hints of the native module (python/src); see python/README.md for the behaviour."""

import os
from typing import Any, Iterable, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

Queries = Union[Iterable[str], npt.NDArray[np.floating]]
Hit = dict  # {"id": int, "name": str, "label": str, "distance": float}

def embed(sequences: Iterable[str], embedder: str = "composition") -> npt.NDArray[np.float32]: ...

class Collection:
    def __init__(
        self, path_or_name: Union[str, os.PathLike], embedder: Optional[str] = None
    ) -> None: ...
    @property
    def path(self) -> os.PathLike: ...
    @property
    def embedder(self) -> str: ...
    def index(
        self,
        sequences: Iterable[str],
        labels: Iterable[Union[str, int]],
        names: Optional[Iterable[str]] = None,
        metadata: Any = None,  # a list of dict/None per sequence, or a pandas DataFrame
        train: bool = True,
        vectors: Optional[npt.NDArray[np.floating]] = None,  # external:NAME:DIM collections
    ) -> npt.NDArray[np.int64]: ...
    def search(
        self,
        queries: Queries,
        k: int = 10,
        labels: Union[None, str, Iterable[str]] = None,
        where: Optional[dict] = None,
        ef: Optional[int] = None,
    ) -> list[list[Hit]]: ...
    def search_arrays(
        self,
        queries: Queries,
        k: int = 10,
        labels: Union[None, str, Iterable[str]] = None,
        where: Optional[dict] = None,
        ef: Optional[int] = None,
    ) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
    def classify(
        self,
        sequences: Iterable[str],
        k: Optional[int] = None,
        names: Optional[Iterable[str]] = None,
        threshold: Optional[float] = None,
        adapt: str = "never",
        vectors: Optional[npt.NDArray[np.floating]] = None,
    ) -> list[dict[str, Any]]: ...
    def delete(self, ids: Iterable[int]) -> None: ...
    def train(self, retune: bool = False) -> dict[str, Any]: ...
    def compact(self) -> dict[str, Any]: ...
    def info(self) -> dict[str, Any]: ...
    def __len__(self) -> int: ...
