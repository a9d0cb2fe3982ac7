"""Validation of protocol messages against schemas/json/<kind>.json (python3-jsonschema)."""
import json
import os

import jsonschema

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCHEMA_DIR = os.path.join(ROOT, "schemas", "json")
_cache = {}


def schema_for(kind):
    if kind not in _cache:
        path = os.path.join(SCHEMA_DIR, kind + ".json")
        if not os.path.exists(path):
            raise LookupError("no JSON Schema for message kind %r (%s)" % (kind, path))
        with open(path) as f:
            s = json.load(f)
        jsonschema.Draft202012Validator.check_schema(s)
        _cache[kind] = jsonschema.Draft202012Validator(s)
    return _cache[kind]


def validate(payload):
    """Raises (LookupError, ValueError, jsonschema.ValidationError) unless payload (bytes,
    str or dict) is a message of a known kind that validates against its schema. Returns
    the decoded message."""
    msg = payload if isinstance(payload, dict) else json.loads(payload)
    if not isinstance(msg, dict) or not isinstance(msg.get("kind"), str):
        raise ValueError("not a protocol message: %r" % (payload,))
    schema_for(msg["kind"]).validate(msg)
    return msg


def validate_chunk_meta(meta):
    """Raises unless META (a media chunk's user properties as {name: value}) validates
    against schemas/json/segment.chunk.json."""
    schema_for("segment.chunk").validate(meta)


def validate_all(messages):
    """Validate every (topic, payload) pair; empty payloads (cleared retained messages)
    are skipped. Returns a list of 'topic: error' strings, empty when all are valid."""
    problems = []
    for topic, payload in messages:
        if not payload:
            continue
        try:
            validate(payload)
        except Exception as e:  # noqa: BLE001 - every kind of failure is reported
            problems.append("%s: %s: %s" % (topic, type(e).__name__, str(e)[:300]))
    return problems


def validate_chunks(chunks):
    """The same for (topic, metadata, payload) chunks."""
    problems = []
    for topic, meta, _ in chunks:
        try:
            validate_chunk_meta(meta)
        except Exception as e:  # noqa: BLE001
            problems.append("%s: chunk: %s: %s" % (topic, type(e).__name__, str(e)[:300]))
    return problems
