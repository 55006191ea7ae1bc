"""A small WIQL: enough for flat work item queries (docs/azure-devops-behaviours.md §5.1, 5.2).

    SELECT [f], ... FROM WorkItems
    [WHERE cond]      cond: comparisons joined by AND / OR, NOT, parentheses
    [ORDER BY [f] [ASC|DESC], ...]
    [ASOF 'date']

Comparisons: = <> != < > <= >= , [NOT] IN ('a', 'b'), [NOT] CONTAINS 'x', [NOT] UNDER 'path'.
Values: 'text' (with '' for a quote), "text", numbers, @project, @me, @today [+/- N].
Fields by reference name or display name ([System.State] or [State]); string comparisons ignore case,
as on the real service. Syntax errors raise TF51006-style messages; the exact texts beyond the
"missing a FROM clause" one (quoted by public clients) are not confirmed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from ado_emulator.errors import ApiError
from ado_emulator.workitems import FieldDef, IdentityValue, find_field, parse_datetime

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<field>\[[^\]]*\])
    | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<macro>@[A-Za-z]+)
    | (?P<op><>|!=|<=|>=|=|<|>)
    | (?P<punct>[(),+\-])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def syntax_error(message: str, near: str) -> ApiError:
    # TF51006 and the «...» quoting as public clients show it; typeKey not confirmed.
    return ApiError(
        400, f"TF51006: {message} The error is caused by «{near}».", "VssPropertyValidationException", event_id=0
    )


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise syntax_error("Unexpected character in the query.", text[position:].strip()[:20])
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind)))
        position = match.end()
    return tokens


@dataclass(frozen=True)
class Context:
    """What macros mean for this request."""

    project: str | None
    me: str | None  # "Name <email>" of the caller
    now: datetime


@dataclass(frozen=True)
class SortKey:
    field: FieldDef
    descending: bool


class Row(Protocol):
    """One work item as the query sees it."""

    def value(self, definition: FieldDef) -> Any: ...

    def labels(self, identity: IdentityValue) -> set[str]: ...


Predicate = Callable[[Row], bool]


@dataclass(frozen=True)
class Query:
    columns: tuple[FieldDef, ...]
    where: Predicate | None
    order: tuple[SortKey, ...]
    as_of: datetime | None


class _Parser:
    def __init__(self, text: str, context: Context) -> None:
        self.tokens = tokenize(text)
        self.position = 0
        self.context = context

    # -- token helpers
    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def near(self) -> str:
        token = self.peek()
        return token.text if token else "<end of query>"

    def at(self, text: str) -> bool:
        token = self.peek()
        return token is not None and token.text == text

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.upper() in words

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise syntax_error("Unexpected end of the query.", "<end of query>")
        self.position += 1
        return token

    def expect_word(self, word: str, message: str) -> None:
        if not self.is_word(word):
            raise syntax_error(message, self.near())
        self.position += 1

    def expect_punct(self, char: str) -> None:
        if not self.at(char):
            raise syntax_error(f"Expecting '{char}'.", self.near())
        self.position += 1

    # -- grammar
    def parse(self) -> Query:
        self.expect_word("SELECT", "Expecting SELECT.")
        # Column names are checked after the FROM: "SELECT TOP 5 [x] FROM ..." reads TOP as a column and
        # then fails on "5" with "missing a FROM clause", as public clients quote the service.
        names = [self.column_token()]
        while self.at(","):
            self.position += 1
            names.append(self.column_token())
        self.expect_word("FROM", "The query statement is missing a FROM clause.")
        source = self.take()
        if source.kind != "word" or source.text.lower() != "workitems":
            raise syntax_error("Only FROM WorkItems is supported by this emulator.", source.text)
        where = None
        if self.is_word("WHERE"):
            self.position += 1
            where = self.condition()
        order: list[SortKey] = []
        if self.is_word("ORDER"):
            self.position += 1
            self.expect_word("BY", "Expecting BY after ORDER.")
            order.append(self.sort_key())
            while self.at(","):
                self.position += 1
                order.append(self.sort_key())
        as_of = None
        if self.is_word("ASOF"):
            self.position += 1
            as_of = parse_datetime(str(self.value()))
        if self.peek() is not None:
            raise syntax_error("Expecting end of string.", self.near())
        return Query(tuple(self.resolve(n) for n in names), where, tuple(order), as_of)

    def column_token(self) -> Token:
        token = self.take()
        if token.kind not in {"field", "word"}:
            raise syntax_error("Expecting field name.", token.text)
        return token

    def field(self) -> FieldDef:
        return self.resolve(self.column_token())

    def resolve(self, token: Token) -> FieldDef:
        definition = find_field(token.text)
        if definition is None:
            # TF51005 is the service's code for an unknown field in a query.
            raise ApiError(
                400,
                f"TF51005: The query references a field that does not exist. The error is caused by «{token.text}».",
                "VssPropertyValidationException",
                event_id=0,
            )
        return definition

    def sort_key(self) -> SortKey:
        definition = self.field()
        descending = False
        if self.is_word("ASC", "DESC"):
            descending = self.take().text.upper() == "DESC"
        return SortKey(definition, descending)

    def condition(self) -> Predicate:
        return self.chain("OR", self.conjunction, _or)

    def conjunction(self) -> Predicate:
        return self.chain("AND", self.negation, _and)

    def chain(
        self, word: str, operand: Callable[[], Predicate], join: Callable[[Predicate, Predicate], Predicate]
    ) -> Predicate:
        """`operand (word operand)*`, joined from the left."""
        left = operand()
        while self.is_word(word):
            self.position += 1
            left = join(left, operand())
        return left

    def negation(self) -> Predicate:
        if self.is_word("NOT"):
            self.position += 1
            inner = self.negation()
            return lambda row: not inner(row)
        if self.at("("):
            self.position += 1
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        definition = self.field()
        negate = False
        if self.is_word("NOT"):
            self.position += 1
            negate = True
        token = self.take()
        operator = token.text.upper()
        if token.kind == "op" and not negate:
            value = self.value()
            return _compare(definition, "<>" if operator == "!=" else operator, value)
        if token.kind == "word" and operator == "IN":
            self.expect_punct("(")
            values = [self.value()]
            while self.at(","):
                self.position += 1
                values.append(self.value())
            self.expect_punct(")")
            predicate = _in(definition, values)
        elif token.kind == "word" and operator in {"CONTAINS", "UNDER"}:
            if self.is_word("WORDS"):
                self.position += 1
            predicate = (
                _contains(definition, self.value()) if operator == "CONTAINS" else _under(definition, self.value())
            )
        else:
            raise syntax_error("Expecting comparison operator.", token.text)
        if negate:
            inner = predicate
            return lambda row: not inner(row)
        return predicate

    def value(self) -> Any:
        token = self.take()
        if token.kind == "string":
            quote = token.text[0]
            return token.text[1:-1].replace(quote * 2, quote)
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "macro":
            return self.macro(token.text)
        raise syntax_error("Expecting a value.", token.text)

    def macro(self, name: str) -> Any:
        lowered = name.lower()
        if lowered == "@project":
            if not self.context.project:
                # Not confirmed wording.
                raise syntax_error("The @project macro needs a project in the request URL.", name)
            return self.context.project
        if lowered == "@me":
            return self.context.me or ""
        if lowered == "@today":
            day = self.context.now.replace(hour=0, minute=0, second=0, microsecond=0)
            token = self.peek()
            if token is not None and token.text in {"+", "-"}:
                self.position += 1
                amount = self.take()
                if amount.kind != "number":
                    raise syntax_error("Expecting a number of days.", amount.text)
                days = int(amount.text)
                day += timedelta(days=days if token.text == "+" else -days)
            return day
        raise syntax_error("Unknown macro.", name)


def _and(left: Predicate, right: Predicate) -> Predicate:
    return lambda row: left(row) and right(row)


def _or(left: Predicate, right: Predicate) -> Predicate:
    return lambda row: left(row) or right(row)


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    return value


def _matches_identity(current: Any, wanted: Any, row: Row) -> bool:
    if isinstance(current, IdentityValue):
        return _norm(str(wanted)) in {_norm(label) for label in row.labels(current)}
    return _norm(current) == _norm(wanted)


def _coerce_for(definition: FieldDef, wanted: Any) -> Any:
    if definition.kind == "datetime" and not isinstance(wanted, datetime):
        try:
            return parse_datetime(str(wanted))
        except ValueError:
            raise syntax_error("Expecting a date.", str(wanted)) from None
    if definition.kind in {"int", "double"} and isinstance(wanted, str):
        try:
            return float(wanted)
        except ValueError:
            raise syntax_error("Expecting a number.", wanted) from None
    return wanted


def _compare(definition: FieldDef, operator: str, wanted: Any) -> Predicate:
    wanted = _coerce_for(definition, wanted)

    def predicate(row: Row) -> bool:
        current = row.value(definition)
        if operator in {"=", "<>"}:
            if isinstance(current, IdentityValue) or definition.kind == "identity":
                equal = current is not None and _matches_identity(current, wanted, row)
            elif (
                isinstance(current, datetime) and isinstance(wanted, datetime) and wanted.time() == datetime.min.time()
            ):
                # A date literal without a time compares by day, as WIQL does by default (dayPrecision).
                equal = current.date() == wanted.date()
            else:
                equal = current is not None and _norm(current) == _norm(wanted)
            return equal if operator == "=" else not equal
        if current is None:
            return False
        left, right = _norm(current), _norm(wanted)
        try:
            return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[operator]
        except TypeError:
            return False

    return predicate


def _in(definition: FieldDef, values: Sequence[Any]) -> Predicate:
    checks = [_compare(definition, "=", v) for v in values]
    return lambda row: any(check(row) for check in checks)


def _contains(definition: FieldDef, wanted: Any) -> Predicate:
    def predicate(row: Row) -> bool:
        current = row.value(definition)
        return current is not None and _norm(str(wanted)) in _norm(str(current))

    return predicate


def _under(definition: FieldDef, wanted: Any) -> Predicate:
    def predicate(row: Row) -> bool:
        current = str(row.value(definition) or "").casefold()
        root = str(wanted).casefold()
        return current == root or current.startswith(root + "\\")

    return predicate


def parse(text: Any, context: Context) -> Query:
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "The query text is empty.", "VssPropertyValidationException", event_id=0)
    return _Parser(text, context).parse()
