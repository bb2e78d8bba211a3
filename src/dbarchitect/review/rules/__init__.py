"""Rule families, one module each; importing this package registers every rule."""

from dbarchitect.review.rules import (
    indexes,
    keys,
    naming,
    normalization,
    operations,
    security,
    types,
)

__all__ = ["indexes", "keys", "naming", "normalization", "operations", "security", "types"]
