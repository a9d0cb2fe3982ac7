#!/usr/bin/python3
"""Writes the hand-made seed inputs of tests/fuzz/corpus/ (run once; libFuzzer's merge
adds the inputs it finds interesting next to them). Seeds are named seed-*, so a
re-run replaces them and leaves the merged inputs alone."""
import json
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(ROOT, "..", "..", "schemas", "examples")


def put(harness, name, data):
    d = os.path.join(ROOT, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


ENV = '"v":1,"kind":"%s","seq":1795650930000004,"ts":1795650930000004'


def envelope(kind, rest=""):
    return "{" + (ENV % kind) + ("," + rest if rest else "") + "}"


# Envelope edge cases, shared by the message, request and status harnesses.
def edge_cases(kind, rest):
    ok = envelope(kind, rest)
    return {
        "not-json": "hello",
        "empty": "",
        "null": "null",
        "array": "[" + ok + "]",
        "truncated": ok[: len(ok) // 2],
        "trailing-garbage": ok + "x",
        "two-objects": ok + ok,
        "bom": "\ufeff" + ok,
        "v2": ok.replace('"v":1', '"v":2', 1),
        "v0": ok.replace('"v":1', '"v":0', 1),
        "v-string": ok.replace('"v":1', '"v":"1"', 1),
        "v-real": ok.replace('"v":1', '"v":1.0', 1),
        "v-missing": ok.replace('"v":1,', "", 1),
        "kind-number": ok.replace('"kind":"%s"' % kind, '"kind":7', 1),
        "kind-empty": ok.replace('"kind":"%s"' % kind, '"kind":""', 1),
        "kind-47": ok.replace('"kind":"%s"' % kind, '"kind":"%s"' % ("k" * 47), 1),
        "kind-48": ok.replace('"kind":"%s"' % kind, '"kind":"%s"' % ("k" * 48), 1),
        "kind-nul": ok.replace('"kind":"%s"' % kind, '"kind":"%s\\u0000x"' % kind, 1),
        "seq-0": ok.replace('"seq":1795650930000004', '"seq":0', 1),
        "seq-negative": ok.replace('"seq":1795650930000004', '"seq":-1', 1),
        "seq-huge": ok.replace('"seq":1795650930000004', '"seq":99999999999999999999999', 1),
        "seq-max": ok.replace('"seq":1795650930000004', '"seq":9223372036854775807', 1),
        "seq-real": ok.replace('"seq":1795650930000004', '"seq":1e400', 1),
        "ts-negative": ok.replace('"ts":1795650930000004', '"ts":-9223372036854775808', 1),
        "ts-float": ok.replace('"ts":1795650930000004', '"ts":1.5', 1),
        "dup-v": ok.replace('"v":1', '"v":1,"v":2', 1),
        "dup-kind": ok.replace('"kind":"%s"' % kind, '"kind":"%s","kind":"x"' % kind, 1),
        "nul-raw": ok[:5] + "\0" + ok[5:],
        "nul-escaped-member": ok[:-1] + ',"a\\u0000b":1}',
        "utf8-invalid": ok[:-1].encode() + b',"x":"\xc3\x28"}',
        "utf8-overlong": ok[:-1].encode() + b',"x":"\xc0\xaf"}',
        "utf8-surrogate": ok[:-1] + ',"x":"\\ud800"}',
        "utf8-valid": ok[:-1] + ',"x":"\u8bc4\u6807\U0001f600"}',
        "control-char": ok[:-1] + ',"x":"a\x01b"}',
        "unknown-member": ok[:-1] + ',"extra":true}',
        "deep-100": ok[:-1] + ',"d":' + "[" * 100 + "]" * 100 + "}",
        "deep-3000": ok[:-1] + ',"d":' + "[" * 3000 + "]" * 3000 + "}",
        "deep-objects": ok[:-1] + ',"d":' + '{"a":' * 200 + "1" + "}" * 200 + "}",
        "long-string": ok[:-1] + ',"x":"' + "\u00e9" * 3000 + '"}',
        "many-members": ok[:-1] + "".join(',"m%d":%d' % (i, i) for i in range(60)) + "}",
    }


def msg_seeds():
    for f in sorted(os.listdir(EXAMPLES)):
        with open(os.path.join(EXAMPLES, f), "rb") as fh:
            put("fuzz_msg", "example-" + f, fh.read())
    for name, data in edge_cases("status", '"state":"online","identity":"agent-R101"').items():
        put("fuzz_msg", name, data)
    put("fuzz_msg", "oversized", envelope("status", '"pad":"' + "x" * 65536 + '"'))
    put("fuzz_msg", "exact-limit", envelope("x", '"pad":"' + "x" * (65536 - 80) + '"'))
    put("fuzz_msg", "event-nested", envelope(
        "door.event", '"room":"R101","door":{"state":"open","since":1,"ok":true,'
        '"tags":["a","b"],"inner":{"x":null,"y":1.5}}'))
    put("fuzz_msg", "cmd-args", envelope(
        "cmd", '"id":"c-1","expires":1,"command":"door.pulse",'
        '"args":{"room":"R101","seconds":5,"force":false,"items":[{"name":"a"},{"name":"-bad"}]}'))
    put("fuzz_msg", "error-sender-bad", envelope(
        "error", '"topic":"t","sender":"agent/R101","fault":"x"'))
    put("fuzz_msg", "response-error", envelope(
        "response", '"ok":false,"error":{"code":"nope","message":""}'))


def request_seeds():
    req = ('"id":"5f1c2a9b00c1d2e3","expires":@NOW,"command":"status","args":{}')
    for role, b in (("operator", 0), ("desk", 1), ("auditor", 2), ("agent", 3),
                    ("terminal", 4), ("controller", 5)):
        put("fuzz_request", "status-" + role, bytes([b]) + envelope("request", req).encode())
    variants = {
        "no-args": req.replace(',"args":{}', ""),
        "args-member": req.replace('"args":{}', '"args":{"room":"R101"}'),
        "args-array": req.replace('"args":{}', '"args":[]'),
        "expired": req.replace("@NOW", "1"),
        "expires-far": req.replace("@NOW", "9223372036854775807"),
        "expires-negative": req.replace("@NOW", "-1"),
        "expires-string": req.replace("@NOW", '"@NOW"'),
        "id-missing": req.replace('"id":"5f1c2a9b00c1d2e3",', ""),
        "id-empty": req.replace('"5f1c2a9b00c1d2e3"', '""'),
        "id-63": req.replace('"5f1c2a9b00c1d2e3"', '"%s"' % ("i" * 63)),
        "id-64": req.replace('"5f1c2a9b00c1d2e3"', '"%s"' % ("i" * 64)),
        "id-number": req.replace('"5f1c2a9b00c1d2e3"', "42"),
        "id-utf8": req.replace('"5f1c2a9b00c1d2e3"', '"\u8bc4\u6807-1"'),
        "command-unknown": req.replace('"status"', '"tender.add"'),
        "command-empty": req.replace('"status"', '""'),
        "command-47": req.replace('"status"', '"%s"' % ("c" * 47)),
        "command-48": req.replace('"status"', '"%s"' % ("c" * 48)),
        "command-missing": req.replace('"command":"status",', ""),
    }
    for name, r in variants.items():
        put("fuzz_request", name, b"\0" + envelope("request", r).encode())
    door = req.replace('"command":"status","args":{}', '"command":"door","args":{"room":"%s","action":"%s"}')
    # Each with its own id: the controller answers a repeated (requester, id) from its
    # replay table without running it again.
    def own_id(r, name):
        return r.replace("5f1c2a9b00c1d2e3", name)

    put("fuzz_request", "door-unlock",
        b"\0" + envelope("request", own_id(door % ("E1", "unlock"), "d1")).encode())
    put("fuzz_request", "door-refused-by-agent",
        b"\x80" + envelope("request", own_id(door % ("E1", "lock"), "d2")).encode())
    put("fuzz_request", "door-unknown-room",
        b"\0" + envelope("request", own_id(door % ("X9", "unlock"), "d3")).encode())
    put("fuzz_request", "door-desk",
        b"\1" + envelope("request", own_id(door % ("E1", "unlock"), "d4")).encode())
    lockdown = req.replace('"command":"status","args":{}', '"command":"lockdown","args":{"all":true}')
    put("fuzz_request", "lockdown-all",
        b"\0" + envelope("request", own_id(lockdown, "l1")).encode())
    put("fuzz_request", "lockdown-release", b"\x80" + envelope(
        "request", own_id(lockdown.replace('"all":true', '"room":"E1","release":true'),
                          "l2")).encode())
    tender = req.replace('"command":"status","args":{}',
                         '"command":"session.create","args":{"date":"2026-11-26"}')
    put("fuzz_request", "session-create",
        b"\0" + envelope("request", own_id(tender, "s1")).encode())
    put("fuzz_request", "kind-response", b"\0" + envelope("response", req).encode())
    for name, data in edge_cases("request", req).items():
        data = data.encode() if isinstance(data, str) else data
        put("fuzz_request", "env-" + name, b"\0" + data)
    put("fuzz_request", "oversized",
        b"\0" + envelope("request", req + ',"pad":"' + "x" * 65536 + '"').encode())


def status_seeds():
    st = '"state":"online","identity":"agent-R101","version":"0.1","started":1795650926000000'
    with open(os.path.join(EXAMPLES, "status.json"), "rb") as fh:
        put("fuzz_status", "example", b"\0" + fh.read())
    variants = {
        "offline": st.replace('"online"', '"offline"'),
        "stopped": st.replace('"online"', '"stopped"'),
        "state-bad": st.replace('"online"', '"lost"'),
        "state-number": st.replace('"online"', "1"),
        "identity-other": st.replace("agent-R101", "agent-R102"),
        "identity-missing": st.replace(',"identity":"agent-R101"', ""),
        "identity-65": st.replace("agent-R101", "a" * 65),
        "started-negative": st.replace("1795650926000000", "-1"),
        "detail": st + ',"detail":{"door":"locked","streams":3}',
        "detail-array": st + ',"detail":[]',
        "version-33": st.replace('"0.1"', '"%s"' % ("1" * 33)),
    }
    for name, s in variants.items():
        put("fuzz_status", name, b"\0" + envelope("status", s).encode())
    put("fuzz_status", "room-R102", b"\1" + envelope(
        "status", st.replace("agent-R101", "agent-R102")).encode())
    put("fuzz_status", "room-A-1", b"\2" + envelope(
        "status", st.replace("agent-R101", "agent-A-1").replace("online", "offline")).encode())
    put("fuzz_status", "cleared", b"\0")
    put("fuzz_status", "kind-event", b"\0" + envelope("door.event", st).encode())
    for name, data in edge_cases("status", st).items():
        data = data.encode() if isinstance(data, str) else data
        put("fuzz_status", "env-" + name, b"\0" + data)


def event_seeds():
    err = '"topic":"evalroom/v1/room/R101/cmd","sender":"controller","fault":"expired"'
    put("fuzz_event", "agent-error", b"\0" + envelope("error", err).encode())
    put("fuzz_event", "agent-error-missing", b"\0" + envelope("error", '"topic":"t"').encode())
    put("fuzz_event", "agent-error-extra", b"\1" + envelope("error", err + ',"x":1').encode())
    put("fuzz_event", "door-event", b"\0" + envelope(
        "door.event", '"door":"D101","state":"open","credential":"w26:1:2"').encode())
    put("fuzz_event", "kind-status", b"\2" + envelope(
        "status", '"state":"online","identity":"agent-A-1"').encode())
    for name, data in edge_cases("error", err).items():
        data = data.encode() if isinstance(data, str) else data
        put("fuzz_event", "env-" + name, b"\0" + data)


def config_seeds():
    seeds = {
        "controller.conf": "# evalroom-controller\n[mqtt]\nuri=ssl://127.0.0.1:8883\n"
        "ca=ca.pem\ncert=controller.pem\nkey=controller.key\n\n[controller]\n"
        "state_dir=/var/lib/evalroom\narchive_dir=archive\nsigning_key=signing.key\n",
        "agent.conf": "[mqtt]\nuri=ssl://broker:8883\nca=/etc/evalroom/ca.pem\n"
        "[agent]\nroom=R101\nheartbeat_s=5\nfail_secure=true\n[door]\nbackend=sim\n"
        "pulse_ms=5000\nheld_open_s=30\n[camera.room]\n"
        "source=videotestsrc is-live=true ! x264enc key-int-max=50\n",
        "empty": "",
        "comments-only": "# x\n\n# y\n",
        "no-group": "key=value\n",
        "empty-value": "[g]\nk=\n",
        "dup-group": "[g]\na=1\n[g]\na=2\nb=true\n",
        "dup-key": "[g]\na=1\na=2\n",
        "ints": "[g]\nzero=0\nneg=-5\nmax=9223372036854775807\nover=9223372036854775808\n"
        "hex=0x10\nplus=+7\nspace= 8 \nfloat=1.5\nport=65536\n",
        "bools": "[g]\na=true\nb=false\nc=1\nd=0\ne=yes\nf=TRUE\ng=true \n",
        "escapes": "[g]\na=\\s\\n\\t\\r\\\\\nb=\\x\nc=trailing\\\n",
        "locale": "[g]\nname=a\nname[de]=b\nname[zh_CN]=\u8bc4\u6807\n",
        "lists": "[g]\nl=a;b;c;\nm=1;2\n",
        "utf8-invalid": b"[g]\na=\xc3\x28\n[\xff]\nb=1\n",
        "nul": b"[g]\na=1\0b\n",
        "crlf": "[g]\r\na=1\r\n",
        "bad-group": "[g\na=1\n",
        "bad-line": "[g]\njust text\n",
        "long-line": "[g]\na=" + "x" * 20000 + "\n",
        "many-keys": "[g]\n" + "".join("k%d=%d\n" % (i, i) for i in range(300)),
        "relative": "[g]\npath=../x/y\nabs=/etc/x\n",
        # controller_config_load: the minimum, the alert limits, and each refusal.
        "controller-minimal.conf": "[mqtt]\nuri=ssl://h:8883\nca=a\ncert=b\nkey=c\n",
        "controller-alerts.conf": "[mqtt]\nuri=ssl://h:8883\nca=/a\ncert=/b\nkey=/c\n"
        "[controller]\nstate_dir=st\narchive_dir=/arc\n[alerts]\nclock_skew_limit_ms=1\n"
        "offline_grace_ms=600000\nnever_connected_ms=3600000\n",
        "controller-alert-zero.conf": "[mqtt]\nuri=u\nca=a\ncert=b\nkey=c\n[alerts]\n"
        "offline_grace_ms=0\n",
        "controller-empty-state.conf": "[mqtt]\nuri=u\nca=a\ncert=b\nkey=c\n[controller]\n"
        "state_dir=\n",
        "controller-no-key.conf": "[mqtt]\nuri=u\nca=a\ncert=b\n",
        "controller-checkin.conf": "[mqtt]\nuri=u\nca=a\ncert=b\nkey=c\n[controller]\n"
        "admission_window_s=10\nlogin_code_valid_s=604801\n",
    }
    for name, data in seeds.items():
        put("fuzz_config", name, data)


def site_seeds():
    with open(os.path.join(EXAMPLES, "site.json"), "rb") as fh:
        text = fh.read()
    put("fuzz_site", "example", text)
    site = json.loads(text)
    room = site["rooms"][0]

    def variant(name, fn):
        s = json.loads(text)
        fn(s)
        put("fuzz_site", name, json.dumps(s, ensure_ascii=False))

    variant("dup-room", lambda s: s["rooms"].append(dict(s["rooms"][0])))
    variant("dup-door", lambda s: s["rooms"][1].__setitem__("door", s["rooms"][0]["door"]))
    variant("bad-room-id", lambda s: s["rooms"][0].__setitem__("id", "R 1"))
    variant("long-id", lambda s: s["rooms"][0].__setitem__("id", "R" * 33))
    variant("no-rooms", lambda s: s.__setitem__("rooms", []))
    variant("rooms-object", lambda s: s.__setitem__("rooms", {}))
    variant("unknown-member", lambda s: s.__setitem__("extra", 1))
    variant("kind-bad", lambda s: s["rooms"][0].__setitem__("kind", "vip"))
    variant("long-name", lambda s: s.__setitem__("name", "\u8bc4" * 200))
    variant("identity-64", lambda s: s.__setitem__("operators", ["o" * 32, "p" * 55]))
    put("fuzz_site", "not-json", "site")
    put("fuzz_site", "deep", '{"rooms":' + "[" * 3000 + "]" * 3000 + "}")
    put("fuzz_site", "dup-key", text.replace(b"{", b'{"id":"x",', 1))
    put("fuzz_site", "nul", text[:10] + b"\0" + text[10:])


def committee_seeds():
    csv = ("person_id,name,id_number,role,card\n"
           'E-20931,"Wang, Li",11010519491231002X,expert,\n'
           "E-44120,Zhao Min,110105194912310029,expert,04213377\n"
           "R-ACME,Acme Construction Ltd,91110000600037341L,tenderer,\n")
    seeds = {
        "example": csv,
        "bom-crlf": "\ufeff" + csv.replace("\n", "\r\n"),
        "reordered": "role,person_id,id_number,name\nexpert,E-1,1234,A\n",
        "header-only": "person_id,name,id_number,role\n",
        "empty": "",
        "blank-lines": "person_id,name,id_number,role\n\n\nE-1,A,1234,expert\n\n",
        "bad-role": "person_id,name,id_number,role\nE-1,A,1234,judge\n",
        "dup-person": "person_id,name,id_number,role\nE-1,A,1234,expert\nE-1,B,5678,expert\n",
        "dup-column": "person_id,name,name,id_number,role\nE-1,A,A,1234,expert\n",
        "missing-column": "person_id,name,role\nE-1,A,expert\n",
        "unknown-column": "person_id,name,id_number,role,phone\nE-1,A,1234,expert,1\n",
        "quotes": 'person_id,name,id_number,role\nE-1,"A ""B"", C",1234,expert\n',
        "quote-open": 'person_id,name,id_number,role\nE-1,"A,1234,expert\n',
        "quote-inside": 'person_id,name,id_number,role\nE-1,A"B,1234,expert\n',
        "too-many-columns": "a,b,c,d,e,f,g,h,i\n",
        "short-row": "person_id,name,id_number,role\nE-1,A\n",
        "id-number-spaces": "person_id,name,id_number,role\nE-1,A,11 01 05 x,expert\n",
        "id-number-short": "person_id,name,id_number,role\nE-1,A,123,expert\n",
        "name-long": "person_id,name,id_number,role\nE-1," + "n" * 129 + ",1234,expert\n",
        "name-utf8": "person_id,name,id_number,role\nE-1,\u738b\u529b,1234,expert\n",
        "person-bad": "person_id,name,id_number,role\nE 1,A,1234,expert\n",
        "many": "person_id,name,id_number,role\n" + "".join(
            "E-%d,Name %d,%08d,%s\n" % (i, i, i, "expert" if i % 3 else "tenderer")
            for i in range(200)),
    }
    for name, data in seeds.items():
        put("fuzz_committee", name, data)


def wiegand_seeds():
    def frame(bits, gap=1):
        return bytes((gap << 1) | b for b in bits) + b"\xff"

    def card(nbits, facility, number):
        half, fac = (12, 8) if nbits == 26 else (16, 16)
        body = [int(c) for c in format(facility, "0%db" % fac) + format(number, "016b")]
        lead = sum(body[:half]) % 2          # even parity over the first half
        trail = 1 - sum(body[half:]) % 2     # odd parity over the second
        return [lead] + body + [trail]

    def key8(k):
        return [int(c) for c in format(((~k & 0xF) << 4) | k, "08b")]

    def key4(k):
        return [int(c) for c in format(k, "04b")]

    c26 = card(26, 123, 45678)
    put("fuzz_wiegand", "card26", frame(c26))
    put("fuzz_wiegand", "card34", frame(card(34, 4660, 65535)))
    put("fuzz_wiegand", "card26-bad-parity", frame(c26[:-1] + [1 - c26[-1]]))
    put("fuzz_wiegand", "pin8", b"".join(frame(key8(k)) for k in (1, 2, 3, 4, 11)))
    put("fuzz_wiegand", "pin4-star", b"".join(frame(key4(k)) for k in (5, 10, 6, 7, 11)))
    put("fuzz_wiegand", "pin-timeout",
        frame(key4(1)) + frame(key4(2), gap=126) * 2 + frame(key4(11)))
    put("fuzz_wiegand", "pin-too-long", b"".join(frame(key4(k % 10)) for k in range(14))
        + frame(key4(11)))
    put("fuzz_wiegand", "hash-empty", frame(key4(11)))
    put("fuzz_wiegand", "key-12", frame(key4(12)))
    put("fuzz_wiegand", "overlong", frame([1, 0] * 40))
    put("fuzz_wiegand", "len-37", frame([1] * 37))
    put("fuzz_wiegand", "card-then-pin", frame(c26) + frame(key8(9)) + frame(key8(11)))


def agent_cmd_seeds():
    """fuzz_agent_cmd: byte 0 is the scene (1 lockdown persisted, 2 controller away,
    4 no door), then NUL-separated messages on the agent's cmd topic."""
    def cmd(cid, command, args="{}", expires="@NOW"):
        return envelope("cmd", '"id":"%s","expires":%s,"command":"%s","args":%s'
                        % (cid, expires, command, args))

    def door(cid, action, expires="@NOW"):
        return cmd(cid, "door", '{"action":"%s"}' % action, expires)

    adm = ('{"entries":[{"credential":"26:12:345","person":"P1","room":"R101",'
           '"valid_from":0,"valid_until":@NOW},{"credential":"1234","person":"P2",'
           '"valid_from":0,"valid_until":@NOW}]}')
    seqs = {
        "unlock": (0, [door("c1", "unlock")]),
        "free-access-release": (0, [door("c1", "free_access"), door("c2", "release")]),
        "unlock-expired": (0, [door("c1", "unlock", "@PAST")]),
        "lockdown-then-unlock": (0, [door("c1", "lockdown"), door("c2", "unlock"),
                                     door("c3", "release"), door("c4", "unlock")]),
        "restart-in-lockdown": (1, [door("c1", "unlock"), door("c2", "free_access"),
                                    door("c3", "status")]),
        "controller-away": (2, [door("c1", "unlock"), door("c2", "lock")]),
        "no-door": (4, [door("c1", "unlock"), cmd("c2", "admission.set", adm)]),
        "admission": (0, [cmd("c1", "admission.set", adm), door("c2", "status")]),
        "admission-bad": (0, [cmd("c1", "admission.set", '{"entries":[{"credential":"x"}]}'),
                              cmd("c2", "admission.set", '{"entries":7}')]),
        "status": (0, [cmd("c1", "status"), cmd("c2", "media.status"),
                       cmd("c3", "media.flush", '{"stream":"seat-3"}')]),
        "events-ack": (0, [door("c1", "lock"), cmd("c2", "events.ack", '{"upto":1}'),
                           cmd("c3", "events.ack", '{"upto":0}')]),
        "events-ack-seqs": (0, [door("c1", "lock"),
                                cmd("c2", "events.ack", '{"seqs":[1795650930000004,7]}'),
                                cmd("c3", "events.ack", '{"seqs":[]}'),
                                cmd("c4", "events.ack", '{"seqs":[3,0]}'),
                                cmd("c5", "events.ack", '{"seqs":[5],"upto":2}')]),
        "segment-ack": (0, [envelope("segment.ack", '"stream":"seat-3","segment_seq":42')]),
        "wrong-kind": (0, [envelope("status", '"state":"online"'),
                           envelope("reply", '"id":"c1","ok":true,"result":{}')]),
        "bad-members": (0, [door("c1", "open"), cmd("c2", "door", '{}'),
                            cmd("c3", "door", '{"action":"unlock","x":1}'),
                            envelope("cmd", '"id":"c4","command":"door",'
                                     '"args":{"action":"unlock"}'),
                            envelope("cmd", '"id":"c5","expires":"@NOW","command":"door",'
                                     '"args":{"action":"unlock"}'),
                            cmd("c6", "reboot")]),
        "not-json": (0, ["hello", "", "null", "[" + door("c1", "unlock") + "]",
                         door("c2", "unlock")[:40]]),
        "dup-action": (0, [envelope("cmd", '"id":"c1","expires":@NOW,"command":"door",'
                                    '"args":{"action":"lock","action":"unlock"}')]),
        "long-id": (0, [door("c" * 80, "unlock")]),
        "replayed-id": (0, [door("c1", "unlock"), door("c1", "lock"), door("c1", "unlock"),
                            door("c2", "lockdown"), door("c1", "unlock")]),
        "seats": (0, [cmd("c1", "seat.assign", '{"seat":"S1","person":"P1","name":"Ann",'
                          '"tender":"T1","tender_name":"Roads","code_digest":"' + "ab" * 32
                          + '","valid_until":@NOW}'),
                      cmd("c2", "seat.lock", '{"seat":"S1","reason":"break"}'),
                      cmd("c3", "seat.unlock", '{"seat":"S1"}'),
                      cmd("c4", "seat.lock", '{"seat":"S1","reason":"\\u0007"}'),
                      cmd("c5", "seat.assign", '{"seat":"S 1"}')]),
    }
    for name, (scene, msgs) in seqs.items():
        put("fuzz_agent_cmd", name, bytes([scene]) + b"\0".join(m.encode() for m in msgs))


def chunk_seeds():
    """fuzz_chunk: "name=value" lines, an empty line, the payload (see fuzz_chunk.c)."""
    payload = bytes(range(256)) * 2
    good = [("v", "2"), ("kind", "segment.chunk"), ("seq", "1795650930000004"),
            ("ts", "1795650930000004"), ("stream", "cam-1"), ("segment_seq", "7"),
            ("start_us", "1795650928000000"), ("end_us", "1795650930000000"),
            ("size", "1000"), ("sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c"
                                         "d15d6c15b0f00a08"),
            ("recovered", "false"), ("offset", "488"), ("last", "true")]

    def chunk(props, data=payload):
        return "".join("%s=%s\n" % p for p in props).encode() + b"\n" + data

    def edit(name, value):
        return [(k, value if k == name else v) for k, v in good]

    put("fuzz_chunk", "valid-last", chunk(good))
    put("fuzz_chunk", "valid-first", chunk(edit("offset", "0")[:-1] + [("last", "false")]))
    put("fuzz_chunk", "valid-reordered", chunk(list(reversed(good))))
    put("fuzz_chunk", "old-agent-json", b"\n" + json.dumps({
        "v": 1, "kind": "segment.chunk", "seq": 1, "ts": 1, "room": "E1", "stream": "cam",
        "segment_seq": 1, "start_us": 0, "end_us": 1, "size": 3, "sha256": "0" * 64,
        "recovered": False, "offset": 0, "data": "AAAA", "last": True}).encode())
    put("fuzz_chunk", "no-props-binary", b"\n\x00\x01\x02")
    put("fuzz_chunk", "v1", chunk(edit("v", "1")))
    put("fuzz_chunk", "v3", chunk(edit("v", "3")))
    put("fuzz_chunk", "v-text", chunk(edit("v", "two\x01")))
    put("fuzz_chunk", "missing-sha256", chunk([p for p in good if p[0] != "sha256"]))
    put("fuzz_chunk", "unknown-data", chunk(good + [("data", "AAAA")]))
    put("fuzz_chunk", "twice-stream", chunk(good + [("stream", "cam-2")]))
    put("fuzz_chunk", "no-equals", chunk(good[:-1] + [("last", None)]).replace(b"last=None", b"last"))
    put("fuzz_chunk", "nul-in-stream", chunk(edit("stream", "cam\x00x")))
    put("fuzz_chunk", "sha-upper", chunk(edit("sha256", good[9][1].upper())))
    put("fuzz_chunk", "seq-leading-zero", chunk(edit("seq", "01")))
    put("fuzz_chunk", "seq-overflow", chunk(edit("seq", "99999999999999999999")))
    put("fuzz_chunk", "size-over", chunk(edit("size", str((1 << 30) + 1))))
    put("fuzz_chunk", "end-before-start", chunk(edit("end_us", "1")))
    put("fuzz_chunk", "beyond-size", chunk(edit("offset", "900")))
    put("fuzz_chunk", "last-false-at-end", chunk(edit("last", "false")))
    put("fuzz_chunk", "empty-payload", chunk(edit("offset", "1000"), b""))
    put("fuzz_chunk", "many-props", chunk(good + [("x%d" % i, "y") for i in range(40)]))
    put("fuzz_chunk", "empty", b"")


def console_seeds():
    # Byte 0: 0 operator, 1 desk, 2 auditor, 3 witness, 4 a room agent, 5 no certificate,
    # 6 the foreign site's operator; "@HOST" becomes the console's host:port.
    def req(method, path, headers=(), body=b"", version="HTTP/1.1"):
        head = "%s %s %s\r\nHost: @HOST\r\n" % (method, path, version)
        for h in headers:
            head += h + "\r\n"
        if body and not any(h.lower().startswith(("content-length", "transfer-encoding"))
                            for h in headers):
            head += "Content-Length: %d\r\n" % len(body)
        return head.encode() + b"\r\n" + body

    origin = "Origin: https://@HOST"
    json_type = "Content-Type: application/json"
    ack = b'{"id": 1, "note": "guard sent"}'
    for who, b in (("operator", 0), ("desk", 1), ("auditor", 2), ("witness", 3),
                   ("device", 4), ("none", 5), ("foreign", 6)):
        for name, path in (("wall", "/"), ("witness", "/witness"), ("css", "/console.css"),
                           ("js", "/wall.js"), ("api-wall", "/api/wall")):
            put("fuzz_console", "get-%s-%s" % (name, who), bytes([b]) + req("GET", path))
    put("fuzz_console", "head-wall", b"\0" + req("HEAD", "/"))
    put("fuzz_console", "favicon", b"\0" + req("GET", "/favicon.ico"))
    put("fuzz_console", "no-such-page", b"\0" + req("GET", "/nothing"))
    put("fuzz_console", "api-no-such-call", b"\0" + req("GET", "/api/nothing"))
    put("fuzz_console", "post-page", b"\0" + req("POST", "/", body=b"x"))
    for who, b in (("operator", 0), ("desk", 1), ("witness", 3), ("device", 4)):
        put("fuzz_console", "ack-%s" % who,
            bytes([b]) + req("POST", "/api/alert/ack", [origin, json_type], ack))
    put("fuzz_console", "resolve", b"\0" + req("POST", "/api/alert/resolve", [origin], ack))
    put("fuzz_console", "ack-no-origin", b"\0" + req("POST", "/api/alert/ack", [], ack))
    put("fuzz_console", "ack-foreign-origin",
        b"\0" + req("POST", "/api/alert/ack", ["Origin: https://evil.example"], ack))
    put("fuzz_console", "ack-two-origins",
        b"\0" + req("POST", "/api/alert/ack", ["Origin: https://evil.example", origin], ack))
    put("fuzz_console", "ack-get", b"\0" + req("GET", "/api/alert/ack", [origin]))
    put("fuzz_console", "ack-unknown-call", b"\0" + req("POST", "/api/alert/x", [origin], ack))
    put("fuzz_console", "ack-empty-body", b"\0" + req("POST", "/api/alert/ack", [origin]))
    put("fuzz_console", "ack-not-object",
        b"\0" + req("POST", "/api/alert/ack", [origin], b"[1,2]"))
    put("fuzz_console", "ack-bad-json",
        b"\0" + req("POST", "/api/alert/ack", [origin], b'{"id": 1,'))
    put("fuzz_console", "ack-duplicate-key",
        b"\0" + req("POST", "/api/alert/ack", [origin], b'{"id": 1, "id": 2}'))
    put("fuzz_console", "ack-unknown-alert",
        b"\0" + req("POST", "/api/alert/ack", [origin], b'{"id": 99}'))
    put("fuzz_console", "ack-twice",
        b"\0" + req("POST", "/api/alert/ack", [origin], ack) * 2)
    put("fuzz_console", "ack-invalid-utf8",
        b"\0" + req("POST", "/api/alert/ack", [origin], b'{"id": 1, "note": "\xff\xfe"}'))
    put("fuzz_console", "ack-oversized",
        b"\0" + req("POST", "/api/alert/ack", [origin],
                     b'{"id": 1, "note": "' + b"x" * 4100 + b'"}'))
    put("fuzz_console", "ack-chunked",
        b"\0" + req("POST", "/api/alert/ack", [origin, "Transfer-Encoding: chunked"],
                     b"%x\r\n%s\r\n0\r\n\r\n" % (len(ack), ack)))
    put("fuzz_console", "ack-chunked-bad",
        b"\0" + req("POST", "/api/alert/ack", [origin, "Transfer-Encoding: chunked"],
                     b"zz\r\n" + ack))
    put("fuzz_console", "ack-short-body",
        b"\0" + req("POST", "/api/alert/ack", [origin, "Content-Length: 100"], ack))
    put("fuzz_console", "ack-http10",
        b"\0" + req("POST", "/api/alert/ack", [origin], ack, "HTTP/1.0"))
    put("fuzz_console", "get-http10", b"\0" + b"GET / HTTP/1.0\r\n\r\n")
    put("fuzz_console", "get-http09", b"\0" + b"GET /\r\n\r\n")
    put("fuzz_console", "expect-continue",
        b"\0" + req("POST", "/api/alert/ack", [origin, "Expect: 100-continue"], ack))
    put("fuzz_console", "pipelined",
        b"\3" + req("GET", "/witness") + req("HEAD", "/api/wall") + req("GET", "/api/wall"))
    put("fuzz_console", "header-injection-crlf",
        b"\0" + req("GET", "/?x=%0d%0aSet-Cookie:%20a=b", ["X-A: b\rSet-Cookie: c=d"]))
    put("fuzz_console", "header-injection-host",
        b"\0" + b"GET / HTTP/1.1\r\nHost: @HOST\r\nHost: evil.example\r\n\r\n")
    put("fuzz_console", "header-injection-origin-host",
        b"\0" + b"POST /api/alert/ack HTTP/1.1\r\nHost: evil.example\r\n"
        b"Origin: https://evil.example\r\nContent-Length: %d\r\n\r\n%s" % (len(ack), ack))
    put("fuzz_console", "header-obs-fold",
        b"\0" + b"GET / HTTP/1.1\r\nHost: @HOST\r\nX-A: a\r\n b\r\n\r\n")
    put("fuzz_console", "path-traversal", b"\0" + req("GET", "/%2e%2e/%2e%2e/etc/passwd"))
    put("fuzz_console", "absolute-uri", b"\0" + b"GET https://@HOST/witness HTTP/1.1\r\n\r\n")
    put("fuzz_console", "nul-in-path", b"\0" + req("GET", "/wit\0ness"))
    put("fuzz_console", "long-header", b"\0" + req("GET", "/", ["X-Long: " + "a" * 6000]))
    ws = ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]
    put("fuzz_console", "ws-operator", b"\0" + req("GET", "/api/ws", ws + [origin]))
    put("fuzz_console", "ws-witness", b"\3" + req("GET", "/api/ws", ws + [origin]))
    put("fuzz_console", "ws-no-origin", b"\0" + req("GET", "/api/ws", ws))
    put("fuzz_console", "ws-device", b"\4" + req("GET", "/api/ws", ws + [origin]))
    put("fuzz_console", "ws-not-upgrade", b"\0" + req("GET", "/api/ws", [origin]))
    put("fuzz_console", "not-http", b"\0" + b"\x16\x03\x01 hello \xff\xfe")
    put("fuzz_console", "empty", b"\0")


if __name__ == "__main__":
    console_seeds()
    chunk_seeds()
    agent_cmd_seeds()
    site_seeds()
    event_seeds()
    committee_seeds()
    wiegand_seeds()
    msg_seeds()
    request_seeds()
    status_seeds()
    config_seeds()
    sys.exit(0)
