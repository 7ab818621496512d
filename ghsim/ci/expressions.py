"""The `${{ }}` expressions ghsim evaluates: literals, contexts, operators, a few functions.

Follows GitHub's "Evaluate expressions in workflows and actions": `==`/`!=` compare strings
case-insensitively and coerce mixed types to numbers, `&&`/`||` return an operand, a missing
property is `null`, and an unknown context name is an error ("Unrecognized named-value").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")
_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))"
    r"|(?P<str>'(?:[^']|'')*')"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[<>!().,\[\]*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
_EMBEDDED = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class ExpressionError(ValueError):
    """An expression ghsim cannot evaluate, or one GitHub would reject."""


@dataclass(frozen=True)
class Status:
    """What the status functions answer where the expression is evaluated."""

    success: bool = True
    failure: bool = False
    cancelled: bool = False


@dataclass(frozen=True)
class Scope:
    contexts: dict[str, Any] = field(default_factory=dict)
    status: Status = Status()


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"unexpected text at {text[pos:]!r}")
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _number(value: Any) -> float:
    """GitHub's coercion to a number: null 0, bools 0/1, strings parsed or NaN."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "") and value != 0.0


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "object"


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if _kind(a) != _kind(b):
        return _number(a) == _number(b)
    if isinstance(a, dict | list):
        return a is b
    return bool(a == b)


def to_string(value: Any) -> str:
    """How a value reads when put into text (`run:`, `name:`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return "Object" if isinstance(value, dict) else "Array"
    return str(value)


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, list):
        return any(_equal(item, needle) for item in haystack)
    return to_string(needle).lower() in to_string(haystack).lower()


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": _contains,
    "startswith": lambda a, b: to_string(a).lower().startswith(to_string(b).lower()),
    "endswith": lambda a, b: to_string(a).lower().endswith(to_string(b).lower()),
    "format": lambda fmt, *args: re.sub(
        r"\{(\d+)\}", lambda m: to_string(args[int(m.group(1))]), to_string(fmt)
    ),
}


class _Parser:
    """Recursive descent over GitHub's grammar: || then && then comparisons then unary."""

    def __init__(self, text: str, scope: Scope) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.scope = scope
        self.uses_status = False

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExpressionError("unexpected end of expression")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"expected {expected!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.pos][1]!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == "&&":
            self.take()
            right = self.compare()
            value = right if truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        while self.peek() in ("==", "!=", "<", ">", "<=", ">="):
            op = self.take()[1]
            right = self.unary()
            if op == "==":
                value = _equal(value, right)
            elif op == "!=":
                value = not _equal(value, right)
            else:
                a, b = _number(value), _number(right)
                value = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.postfix(self.primary())

    def postfix(self, value: Any) -> Any:
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                kind, name = self.take()
                if kind != "name":
                    raise ExpressionError(f"expected a property name, got {name!r}")
                value = _property(value, name)
            else:
                key = self.or_()
                self.take("]")
                value = _property(value, to_string(key))
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            number = float(int(text, 16)) if text.lower().startswith("0x") else float(text)
            return int(number) if number.is_integer() and "." not in text else number
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r}")
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        if self.peek() == "(":
            return self.call(lowered)
        if lowered not in self.scope.contexts:
            raise ExpressionError(f"Unrecognized named-value: '{text}'")
        return self.scope.contexts[lowered]

    def call(self, name: str) -> Any:
        self.take("(")
        args: list[Any] = []
        while self.peek() != ")":
            args.append(self.or_())
            if self.peek() == ",":
                self.take()
        self.take(")")
        if name in STATUS_FUNCTIONS:
            self.uses_status = True
            status = self.scope.status
            return {
                "success": status.success,
                "failure": status.failure,
                "always": True,
                "cancelled": status.cancelled,
            }[name]
        function = _FUNCTIONS.get(name)
        if function is None:
            raise ExpressionError(f"Unrecognized function: '{name}'")
        try:
            return function(*args)
        except (TypeError, IndexError) as exc:
            raise ExpressionError(f"bad arguments to {name}(): {exc}") from exc


def _property(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        lowered = {str(k).lower(): v for k, v in value.items()}
        return lowered.get(name.lower())
    return None


def _strip(text: str) -> str:
    match = re.fullmatch(r"\s*\$\{\{(.*)\}\}\s*", text, flags=re.DOTALL)
    return match.group(1) if match and "}}" not in match.group(1) else text


def evaluate(text: str, scope: Scope) -> Any:
    """The value of one expression, with or without its `${{ }}`."""
    return _Parser(_strip(text), scope).parse()


def condition_holds(text: str | None, scope: Scope) -> bool:
    """An `if:`: without a status function it is `success() && (...)`, as on GitHub."""
    if text is None or not str(text).strip():
        return scope.status.success
    parser = _Parser(_strip(str(text)), scope)
    value = truthy(parser.parse())
    return value if parser.uses_status else value and scope.status.success


def interpolate(text: str, scope: Scope) -> str:
    """Text with each `${{ expr }}` replaced by its value as a string."""
    return _EMBEDDED.sub(lambda m: to_string(evaluate(m.group(1), scope)), text)


def has_expression(text: str) -> bool:
    return _EMBEDDED.search(text) is not None
