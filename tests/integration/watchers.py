"""The example site with the watchers' rooms and people (docs/witness.md): a witness room,
a supervision room and a draw room, a supervisor and two tenderer representatives, for
the tests of issue 18. Nothing here asserts."""
import copy
import json

import harness

WITNESS = "witness-notary1"
SUPERVISOR = "supervisor-reg1"
REP = "rep-acme"
REP2 = "rep-bolt"


def site_dict():
    with open(harness.EXAMPLE_SITE) as f:
        s = json.load(f)
    s = copy.deepcopy(s)
    s["rooms"] += [
        {"id": "W1", "name": "Digital witness room", "kind": "witness", "venue": "main",
         "door": "D-W1", "cameras": ["cam-W1"], "microphones": ["mic-W1"]},
        {"id": "SV1", "name": "Supervision room", "kind": "supervision", "venue": "main",
         "door": "D-SV1"},
        {"id": "DR1", "name": "Draw room", "kind": "draw", "venue": "main", "door": "D-DR1",
         "cameras": ["cam-DR1"]},
    ]
    s["supervisors"] = ["reg1"]
    s["representatives"] = ["acme", "bolt"]
    return s
