"""Every schema is a valid JSON Schema, every example in schemas/examples/ validates (a
protocol message against its kind's schema, a document against the schema of the same
name), and the message schemas really constrain (a changed example is refused)."""
import copy
import glob
import json
import os

import jsonschema
import pytest

import schemas

EXAMPLE_DIR = os.path.join(schemas.ROOT, "schemas", "examples")
EXAMPLES = sorted(glob.glob(os.path.join(EXAMPLE_DIR, "*.json")))


def load(path):
    with open(path) as f:
        return json.load(f)


def is_message(doc):
    return isinstance(doc, dict) and "kind" in doc and "v" in doc


MESSAGES = [p for p in EXAMPLES if is_message(load(p))]
DOCUMENTS = [p for p in EXAMPLES if not is_message(load(p))]


def document_schema(path):
    stem = os.path.basename(path)[:-len(".json")]
    for candidate in (os.path.join(schemas.SCHEMA_DIR, stem + ".json"),
                      os.path.join(schemas.ROOT, "schemas", stem + ".schema.json")):
        if os.path.exists(candidate):
            return load(candidate)
    raise LookupError("no schema for example " + path)


def test_every_schema_is_valid():
    files = glob.glob(os.path.join(schemas.SCHEMA_DIR, "*.json"))
    files += glob.glob(os.path.join(schemas.ROOT, "schemas", "*.schema.json"))
    assert len(files) >= 6
    for path in files:
        jsonschema.Draft202012Validator.check_schema(load(path))


def test_every_message_kind_has_an_example():
    kinds = {os.path.basename(p)[:-5] for p in glob.glob(os.path.join(schemas.SCHEMA_DIR,
                                                                      "*.json"))}
    documents = {os.path.basename(p)[:-5] for p in DOCUMENTS}
    covered = {load(p)["kind"] for p in MESSAGES} | documents
    assert kinds <= covered, "schemas without an example: %s" % sorted(kinds - covered)


@pytest.mark.parametrize("path", MESSAGES, ids=os.path.basename)
def test_message_example_validates(path):
    schemas.validate(load(path))


@pytest.mark.parametrize("path", DOCUMENTS, ids=os.path.basename)
def test_document_example_validates(path):
    jsonschema.Draft202012Validator(document_schema(path)).validate(load(path))


@pytest.mark.parametrize("path", MESSAGES, ids=os.path.basename)
def test_schema_refuses_changed_example(path):
    msg = load(path)
    for change in ("unknown member", "wrong version", "missing seq"):
        bad = copy.deepcopy(msg)
        if change == "unknown member":
            bad["surprise"] = 1
        elif change == "wrong version":
            bad["v"] = 2
        else:
            del bad["seq"]
        with pytest.raises(jsonschema.ValidationError):
            schemas.validate(bad)
