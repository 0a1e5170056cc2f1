"""Pure folds: state of an entity as of a world date, as the log knew it at a moment."""

from projections.encode import canonical_json, decode_state, state_hash
from projections.facts import Fact, fact_of
from projections.fold import (
    Relevance,
    evolve,
    fold,
    register,
    relevant,
    settle_identity,
    state_as_of,
)
from projections.queries import ASPECTS, changes, diff, list_members
from projections.select import certainty, counts, effective, known, world_key
from projections.state import (
    Aspect,
    Certainty,
    Change,
    ChangeKind,
    EntityState,
    Exit,
    Listing,
    Member,
    Product,
    RuleInForce,
    RuleStatus,
    initial_state,
)

__all__ = [
    "ASPECTS",
    "Aspect",
    "Certainty",
    "Change",
    "ChangeKind",
    "EntityState",
    "Exit",
    "Fact",
    "Listing",
    "Member",
    "Product",
    "Relevance",
    "RuleInForce",
    "RuleStatus",
    "canonical_json",
    "certainty",
    "changes",
    "counts",
    "decode_state",
    "diff",
    "effective",
    "evolve",
    "fact_of",
    "fold",
    "initial_state",
    "known",
    "list_members",
    "register",
    "relevant",
    "settle_identity",
    "state_as_of",
    "state_hash",
    "world_key",
]
