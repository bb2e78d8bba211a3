"""Schema review: rules that find what an architect would flag, each with its reason and fix."""

from dbarchitect.review.config import ReviewConfig, load_config
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.engine import review, selected_rules
from dbarchitect.review.finding import Finding, Hit, Severity
from dbarchitect.review.registry import RULES, Rule, all_rules, rule

__all__ = [
    "RULES",
    "Finding",
    "Hit",
    "ReviewConfig",
    "ReviewContext",
    "Rule",
    "Severity",
    "all_rules",
    "load_config",
    "object_name",
    "review",
    "rule",
    "selected_rules",
]
