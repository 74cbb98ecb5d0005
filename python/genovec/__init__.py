"""genovec: an embedded vector database for DNA sequences with retrieval-augmented
classification, from Python.

    import genovec
    c = genovec.Collection("/tmp/promoters.redb")
    ids = c.index(df["sequence"], df["label"])
    c.classify(["ACGT..."])[0]["label"]

Everything is answered by genovec's engine (the code the ``genovec`` command runs), so
answers equal the CLI's on the same collection. See python/README.md.
"""

from ._errors import GenovecError, InputError, InternalError
from ._genovec import Collection, __version__, embed

__all__ = [
    "Collection",
    "embed",
    "GenovecError",
    "InputError",
    "InternalError",
    "__version__",
]
