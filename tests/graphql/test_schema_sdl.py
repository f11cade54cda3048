"""The schema as a reviewed contract: the checked-in SDL, descriptions everywhere, money exact.

These tests read the schema only (no databases): they fail when a change to the code is not
reflected in `schema.graphql`, or leaves something undocumented.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)

from app.graphql.export_schema import REGENERATE, SCHEMA_FILE, main, schema_sdl
from app.graphql.schema import make_schema

Typed = GraphQLField | GraphQLArgument | GraphQLInputField


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return make_schema(production=False)._schema


def _own_types(schema: GraphQLSchema) -> Iterator[GraphQLNamedType]:
    # Introspection types belong to GraphQL itself.
    return (t for name, t in schema.type_map.items() if not name.startswith("__"))


def _members(schema: GraphQLSchema) -> Iterator[tuple[str, Typed]]:
    """Every field, argument and input field, named as `Type.field(argument)`."""
    for named in _own_types(schema):
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                yield f"{named.name}.{field_name}", field
                for arg_name, arg in field.args.items():
                    yield f"{named.name}.{field_name}({arg_name})", arg
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                yield f"{named.name}.{field_name}", input_field


def test_the_checked_in_sdl_is_the_schema_of_the_code() -> None:
    checked_in = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    assert checked_in == schema_sdl(), (
        f"{SCHEMA_FILE.name} differs from the schema the code defines: run `{REGENERATE}` "
        "and commit the file."
    )


def test_every_type_field_argument_and_enum_value_has_a_description(
    schema: GraphQLSchema,
) -> None:
    missing = [f"type {t.name}" for t in _own_types(schema) if not t.description]
    missing += [name for name, member in _members(schema) if not member.description]
    missing += [
        f"{t.name}.{value_name}"
        for t in _own_types(schema)
        if isinstance(t, GraphQLEnumType)
        for value_name, value in t.values.items()
        if not value.description
    ]
    assert missing == [], "Describe these in the schema (description=...):\n" + "\n".join(missing)


# "Eur" as a word of a camelCase name: costEur, rateToEur, priceEurMonth.
_EUR = re.compile(r"Eur(?![a-z])")
_MONEY_WORDS = frozenset({"cost", "price", "amount", "eur"})


def _own_name(member: str) -> str:
    """The field's, argument's or input field's own name: Query.aiCost(from) is "from"."""
    last = member.rsplit(".", 1)[-1]
    return last[last.index("(") + 1 : -1] if last.endswith(")") else last


def _words(camel: str) -> set[str]:
    """pricedCallShare: {"priced", "call", "share"} (a share of calls, not an amount)."""
    return {word.lower() for word in re.findall(r"[a-z]+|[A-Z][a-z]*", camel)}


def test_every_amount_in_eur_is_a_decimal_string(schema: GraphQLSchema) -> None:
    euros = [
        (name, get_named_type(member.type).name)
        for name, member in _members(schema)
        if _EUR.search(_own_name(name))
    ]
    assert euros, "the schema has money fields"
    assert [(name, type_name) for name, type_name in euros if type_name != "Decimal"] == []


def test_no_money_field_is_a_binary_float(schema: GraphQLSchema) -> None:
    floats = [
        name
        for name, member in _members(schema)
        if get_named_type(member.type).name == "Float" and _words(_own_name(name)) & _MONEY_WORDS
    ]
    assert floats == []


def test_the_export_command_writes_the_sdl_and_check_reports_a_stale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "schema.graphql"
    assert main(["--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == schema_sdl()
    assert main(["--check", "--output", str(target)]) == 0

    target.write_text("type Query { stale: Int }\n", encoding="utf-8")
    assert main(["--check", "--output", str(target)]) == 1
    assert f"run `{REGENERATE}`" in capsys.readouterr().err
