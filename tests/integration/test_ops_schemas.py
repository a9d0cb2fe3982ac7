"""The request and response JSON Schemas of the operator commands match what the code
does: the cmocka tests of the operations (test_ops_day, test_ops_draw) are re-run with
OPS_DUMP_DIR set, which makes them log every call (command, args, answer), and each
logged call is checked here against schemas/json/request.json and response.json."""
import json
import os
import subprocess

import jsonschema
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCHEMAS = os.path.join(ROOT, "schemas", "json")


def load(name):
    with open(os.path.join(SCHEMAS, name)) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def calls(build_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ops")
    for test in ("test_ops_day", "test_ops_draw"):
        exe = os.path.join(build_dir, "tests", test)
        env = dict(os.environ, OPS_DUMP_DIR=str(out))
        subprocess.run([exe], env=env, check=True, capture_output=True, timeout=120)
    with open(out / "ops.jsonl") as f:
        return [json.loads(line) for line in f]


def envelope(call):
    return {"v": 1, "kind": "request", "seq": 1, "ts": 1, "id": "x", "expires": 2,
            "command": call["command"], "args": call["args"]}


def test_every_command_was_exercised(calls):
    ok = {c["command"] for c in calls if c["ok"]}
    refused = {c["command"] for c in calls if not c["ok"]}
    every = {"site.import", "session.create", "tender.add", "committee.import",
             "draw.commit", "draw.show", "draw.abandon", "draw.run", "draw.replace",
             "draw.export", "audit.list"}
    assert ok == every
    assert refused == every


def test_accepted_requests_match_the_request_schema(calls):
    validator = jsonschema.Draft202012Validator(load("request.json"))
    for c in calls:
        if c["ok"]:
            validator.validate(envelope(c))


def test_requests_the_schema_refuses_are_refused_by_the_code(calls):
    """The code may be stricter than the schema (a 30 February), never looser."""
    validator = jsonschema.Draft202012Validator(load("request.json"))
    checked = 0
    for c in calls:
        if not validator.is_valid(envelope(c)):
            assert not c["ok"], c
            assert c["error"]["code"] == "invalid", c
            checked += 1
    assert checked >= 5


def test_results_match_the_response_schema(calls):
    schema = load("response.json")
    validator = jsonschema.Draft202012Validator(schema)
    results = {k: jsonschema.Draft202012Validator(v)
               for k, v in schema["$defs"]["results"]["properties"].items()
               if k != "draw.export"}
    seen = set()
    for c in calls:
        resp = {"v": 1, "kind": "response", "seq": 1, "ts": 1, "id": "x", "ok": c["ok"]}
        if c["ok"]:
            resp["result"] = c["result"]
        else:
            resp["error"] = c["error"]
        validator.validate(resp)
        if c["ok"] and c["command"] != "draw.export":
            results[c["command"]].validate(c["result"])
            seen.add(c["command"])
    assert len(seen) == 10


def test_draw_export_matches_the_draw_record_schema(calls):
    path = os.path.join(SCHEMAS, "draw-record.json")
    if not os.path.exists(path):
        pytest.skip("schemas/json/draw-record.json not in this tree yet")
    schema = load("draw-record.json")
    exports = [c["result"] for c in calls if c["ok"] and c["command"] == "draw.export"]
    assert exports
    for rec in exports:
        jsonschema.validate(rec, schema)


def test_examples_match_the_schemas():
    examples = os.path.join(ROOT, "schemas", "examples")
    results = load("response.json")["$defs"]["results"]["properties"]
    names = sorted(n for n in os.listdir(examples)
                   if n.startswith(("request-", "response-")) and n.endswith(".json"))
    assert len(names) >= 5
    for name in names:
        with open(os.path.join(examples, name)) as f:
            msg = json.load(f)
        jsonschema.Draft202012Validator(load(msg["kind"] + ".json")).validate(msg)
        if msg["kind"] == "response" and msg["ok"]:
            command = name[len("response-"):-len(".json")].replace("-", ".", 1)
            jsonschema.Draft202012Validator(results[command]).validate(msg["result"])
