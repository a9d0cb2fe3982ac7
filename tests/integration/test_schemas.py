"""Every schema is a valid JSON Schema, every example validates against its kind's schema,
and the schemas really constrain (a changed example is refused)."""
import copy
import glob
import json
import os

import jsonschema
import pytest

import schemas

EXAMPLES = sorted(glob.glob(os.path.join(schemas.ROOT, "schemas", "examples", "*.json")))
MESSAGE_EXAMPLES = [p for p in EXAMPLES
                    if os.path.exists(os.path.join(schemas.SCHEMA_DIR, os.path.basename(p)))]


def test_every_schema_is_valid():
    files = glob.glob(os.path.join(schemas.SCHEMA_DIR, "*.json"))
    assert len(files) >= 6
    for path in files:
        with open(path) as f:
            jsonschema.Draft202012Validator.check_schema(json.load(f))


def test_every_message_kind_has_an_example():
    kinds = {os.path.basename(p) for p in glob.glob(os.path.join(schemas.SCHEMA_DIR, "*.json"))}
    examples = {os.path.basename(p) for p in EXAMPLES}
    assert kinds <= examples, "schemas without an example: %s" % sorted(kinds - examples)


@pytest.mark.parametrize("path", MESSAGE_EXAMPLES, ids=os.path.basename)
def test_example_validates(path):
    with open(path) as f:
        msg = json.load(f)
    assert msg["kind"] + ".json" == os.path.basename(path)
    schemas.validate(msg)


@pytest.mark.parametrize("path", MESSAGE_EXAMPLES, ids=os.path.basename)
def test_schema_refuses_changed_example(path):
    with open(path) as f:
        msg = json.load(f)
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
