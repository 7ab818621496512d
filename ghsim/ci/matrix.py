"""`strategy.matrix`: its combinations (with `include` and `exclude`) and the jobs' names.

GitHub's rules ("Running variations of jobs in a workflow"): the product of the matrix's
vectors, less each combination an `exclude` entry matches, then each `include` entry added
to every combination whose original values it does not overwrite, or made a combination of
its own when it fits none. A job is named `<name> (<values, comma separated>)` unless its
name uses an expression.
"""

from __future__ import annotations

import itertools
from typing import Any

from ghsim.ci.expressions import Scope, has_expression, interpolate, to_string

MAX_COMBINATIONS = 256


class MatrixError(ValueError):
    """A matrix GitHub would reject."""


class MatrixExpression(ValueError):
    """A matrix (or a part of it) given as an expression: valid, but ghsim does not evaluate
    expressions that make a matrix."""


def _expression(value: Any, what: str) -> None:
    if isinstance(value, str) and has_expression(value):
        raise MatrixExpression(f"{what} is an expression, which ghsim does not evaluate")


def _entries(value: Any, what: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    _expression(value, what)
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise MatrixError(f"{what} must be a list of mappings")
    return [{str(k): v for k, v in e.items()} for e in value]


def combinations(raw: Any, where: str) -> tuple[dict[str, Any], ...]:
    """The matrix contexts of a job's instances, in GitHub's order."""
    _expression(raw, where)
    if not isinstance(raw, dict):
        raise MatrixError(f"{where} must be a mapping")
    include = _entries(raw.get("include"), f"{where}.include")
    exclude = _entries(raw.get("exclude"), f"{where}.exclude")
    vectors: dict[str, list[Any]] = {}
    for key, values in raw.items():
        if key in ("include", "exclude"):
            continue
        _expression(values, f"{where}.{key}")
        if not isinstance(values, list):
            raise MatrixError(f"{where}.{key} must be a list")
        if not values:
            raise MatrixError(f"Matrix vector '{key}' does not contain any values")
        vectors[str(key)] = values
    # (original values, values with what include added)
    combos: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if vectors:
        for picked in itertools.product(*vectors.values()):
            combo = dict(zip(vectors, picked, strict=True))
            if any(all(combo.get(k) == v for k, v in ex.items()) for ex in exclude):
                continue
            combos.append((combo, dict(combo)))
    for entry in include:
        fitted = False
        for original, values in combos:
            if original and all(original.get(k, v) == v for k, v in entry.items()):
                values.update(entry)
                fitted = True
        if not fitted:
            combos.append(({}, dict(entry)))
    if not combos:
        raise MatrixError(f"{where} has no combinations left")
    if len(combos) > MAX_COMBINATIONS:
        raise MatrixError(f"A job matrix may not generate more than {MAX_COMBINATIONS} jobs")
    return tuple(values for _, values in combos)


def instance_name(name: str, values: dict[str, Any], scope: Scope) -> str:
    """What a job instance's check run is called."""
    if has_expression(name):
        return interpolate(name, scope)
    if not values:
        return name
    return f"{name} ({', '.join(to_string(v) for v in values.values())})"
