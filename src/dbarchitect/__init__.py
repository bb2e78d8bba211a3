"""dbarchitect: a database architect's work, checked against real engines.

The library API: load a schema from any SOURCE, render it, and reach the dialects.
"""

from __future__ import annotations

__version__ = "0.1.0"

from dbarchitect.dialects import get_dialect
from dbarchitect.errors import DbarchError, InputError
from dbarchitect.model import Schema, from_json, to_json
from dbarchitect.sources import load_schema

__all__ = [
    "DbarchError",
    "InputError",
    "Schema",
    "__version__",
    "from_json",
    "get_dialect",
    "load_schema",
    "to_json",
]
