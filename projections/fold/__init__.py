"""The fold, by concern: `core` drives it (evolve, fold, state_as_of); each other module folds one
kind of item (listings, rules, products, markets, reviews, finance, supply) on its own terms."""

from projections.fold.core import (
    Relevance,
    evolve,
    fold,
    register,
    relevant,
    settle_identity,
    state_as_of,
)
from projections.fold.items import AnyItem, item_key

__all__ = [
    "AnyItem",
    "Relevance",
    "evolve",
    "fold",
    "item_key",
    "register",
    "relevant",
    "settle_identity",
    "state_as_of",
]
