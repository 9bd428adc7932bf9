"""The committed stack schema, run through a real JSON Schema validator.

`stacks/cruddur.schema.json` is what `cruddur-infra schema` prints (a Rust test keeps it
fresh). Editors check stack files with it, so it must accept the seed stack and the spellings
the tool accepts, and reject what the tool rejects: unknown keys at any level and misspelled
enum-like values. The Rust test `commands::schema::tests::the_tool_rejects_what_the_schema_test_rejects`
holds the tool to the same three mistakes.
"""

import json
import pathlib
import re

import jsonschema
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "stacks/cruddur.schema.json"
STACK_PATH = ROOT / "stacks/cruddur.yaml"


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML reads YAML 1.1, where `off`, `on`, `yes` and `no` are booleans; the tool and the
    YAML language server read YAML 1.2, where they are strings (`stream: off`)."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text())
    # The validator of the draft the schema names in `$schema` (draft 7, which the YAML
    # language server implements); formats are annotations there, as they are here.
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft7Validator, schema.get("$schema")
    cls.check_schema(schema)
    return cls(schema, format_checker=None)


@pytest.fixture
def stack():
    return yaml.load(STACK_PATH.read_text(), Loader=Yaml12Loader)


def errors(validator, instance):
    return sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))


def test_the_stack_file_names_the_schema_on_its_first_line():
    first = STACK_PATH.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=./cruddur.schema.json"
    assert (STACK_PATH.parent / "cruddur.schema.json").is_file()


def test_the_seed_stack_is_valid(validator, stack):
    assert errors(validator, stack) == []


def test_an_unknown_top_level_key_is_rejected(validator, stack):
    stack["tabels"] = stack.pop("tables")
    found = errors(validator, stack)
    assert any(e.validator == "additionalProperties" and "tabels" in e.message for e in found), found


def test_an_unknown_nested_key_is_rejected(validator, stack):
    stack["tables"]["messages"]["billing"]["burst"] = 10
    found = errors(validator, stack)
    assert [list(e.absolute_path) for e in found] == [["tables", "messages", "billing"]], found
    assert found[0].validator == "additionalProperties" and "burst" in found[0].message


def test_a_misspelled_enum_value_is_rejected(validator, stack):
    stack["tables"]["messages"]["global_secondary_indexes"][0]["projection"] = "ALLL"
    found = errors(validator, stack)
    assert [list(e.absolute_path) for e in found] == [
        ["tables", "messages", "global_secondary_indexes", 0, "projection"]
    ], found
    assert found[0].validator == "pattern"


@pytest.mark.parametrize(
    "path, value",
    [
        # The tool uppercases these before comparing.
        (["tables", "messages", "global_secondary_indexes", 0, "projection"], "all"),
        (["tables", "messages", "global_secondary_indexes", 0, "projection"], "Keys_Only"),
        (["tables", "messages", "billing", "mode"], "provisioned"),
        (["tables", "messages", "stream"], "off"),
        (["tables", "messages", "stream"], "new_and_old_images"),
        (["dax_clusters", "cache", "endpoint_encryption"], "tls"),
        (["roles", "messaging_stream", "policies", "cruddur-messaging-stream-dynamodb", 0, "effect"], "deny"),
        # Words and ids.
        (["vpc_endpoints", "dynamodb", "route_tables"], ["rtb-0123456789abcdef0"]),
        (["vpc_endpoints", "dynamodb", "vpc"], "vpc-0123456789abcdef0"),
        (["dax_clusters", "cache", "subnets"], ["subnet-1", "subnet-2"]),
    ],
)
def test_spellings_the_tool_accepts_pass(validator, stack, path, value):
    set_at(stack, path, value)
    assert errors(validator, stack) == []


@pytest.mark.parametrize(
    "path, value",
    [
        # The tool compares these exactly.
        (["tables", "messages", "attributes", "pk"], "s"),
        (["functions", "messaging_stream", "runtime"], "Python3.12"),
        (["functions", "messaging_stream", "runtime"], "python3x12"),
        (["event_source_mappings", "messages_stream", "starting_position"], "latest"),
        (["event_source_mappings", "messages_stream", "starting_position"], "AT_TIMESTAMP"),
        (["vpc_endpoints", "dynamodb", "service"], "DynamoDB"),
        (["environments", "dynamodb-local", "engine"], "localstack"),
        (["dax_clusters", "cache", "subnets"], "Default"),
        (["dax_clusters", "cache", "subnets"], []),
        (["vpc_endpoints", "dynamodb", "route_tables"], ["subnet-1"]),
        (["functions", "messaging_stream", "log_retention_days"], 2),
        # Misspelled, in any case.
        (["tables", "messages", "billing", "mode"], "ON_DEMAND"),
        (["tables", "messages", "stream"], "NEW_IMAGES"),
        (["dax_clusters", "cache", "endpoint_encryption"], "SSL"),
    ],
)
def test_spellings_the_tool_rejects_fail(validator, stack, path, value):
    set_at(stack, path, value)
    found = errors(validator, stack)
    assert [list(e.absolute_path) for e in found] == [path], found


def set_at(document, path, value):
    """Sets the value at `path` (keys and list indexes) of a loaded stack."""
    *parents, last = path
    for key in parents:
        document = document[key]
    document[last] = value
