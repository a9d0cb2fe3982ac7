#!/usr/bin/python3
"""An independent re-implementation of docs/draw.md (algorithms 1 and 2), written
from the page, as an auditor would. It computes the allowed rooms by a fresh
max-flow per candidate room (the definition), with version 2's lower bounds taken
out of the flow as the page says, not by the C code's incremental residual search.

  reference_draw.py RECORD.json...          re-run records, print OK or the first difference
  reference_draw.py --tool TOOL --random N  draw N random sites with the C tool and compare
"""
import argparse
import hashlib
import json
import random
import subprocess
import sys
import tempfile


def tag(text):
    return text.encode("ascii") + b"\x00"


def canonical(inputs):
    persons = sorted(inputs["persons"], key=lambda p: p["id"].encode())
    rooms = sorted(inputs["rooms"], key=lambda r: r["id"].encode())
    tenders = sorted(inputs["tenders"], key=lambda t: t["id"].encode())
    out = '{"algorithm":%d,"persons":[' % inputs["algorithm"]
    out += ",".join('{"id":"%s","role":"%s","tender":"%s"}' % (p["id"], p["role"], p["tender"])
                    for p in persons)
    out += '],"rooms":['
    out += ",".join('{"id":"%s","kind":"%s","seats":[%s]}' % (
        r["id"], r["kind"], ",".join('"%s"' % s for s in sorted(r["seats"], key=str.encode)))
        for r in rooms)
    out += '],"tenders":['
    out += ",".join('{"id":"%s"}' % t["id"] for t in tenders)
    return out + "]}"


class Stream:
    def __init__(self, seed):
        self.seed, self.i, self.buf = seed, 0, b""

    def word(self):
        if not self.buf:
            self.buf = hashlib.sha256(tag("evalroom-draw-v1 stream") + self.seed +
                                      self.i.to_bytes(8, "big")).digest()
            self.i += 1
        w, self.buf = int.from_bytes(self.buf[:4], "big"), self.buf[4:]
        return w

    def uniform(self, n):
        limit = 2**32 - (2**32 % n)
        while True:
            x = self.word()
            if x < limit:
                return x % n


def max_flow(demand, cap, allow):
    """Unit augmenting paths over tenders -> rooms -> sink; returns the flow value."""
    tenders, rooms = list(demand), list(cap)
    f = {(t, r): 0 for t in tenders for r in rooms}
    load = {r: 0 for r in rooms}
    sent = {t: 0 for t in tenders}
    total = 0
    while True:
        prev = {}
        queue = [("t", t) for t in tenders if sent[t] < demand[t]]
        for node in queue:
            prev[node] = None
        found = None
        while queue and not found:
            kind, x = queue.pop(0)
            if kind == "t":
                for r in rooms:
                    if ("r", r) not in prev and f[(x, r)] < allow[(x, r)]:
                        prev[("r", r)] = (kind, x)
                        queue.append(("r", r))
            else:
                if load[x] < cap[x]:
                    found = (kind, x)
                    break
                for t in tenders:
                    if ("t", t) not in prev and f[(t, x)] > 0:
                        prev[("t", t)] = (kind, x)
                        queue.append(("t", t))
        if not found:
            return total
        node = found
        load[node[1]] += 1
        while prev[node] is not None:
            p = prev[node]
            if p[0] == "t":
                f[(p[1], node[1])] += 1
            else:
                f[(node[1], p[1])] -= 1
            node = p
        sent[node[1]] += 1
        total += 1


def feasible(k, c, limit_left, need=None):
    """Is there x with sum_r x[t,r] = k[t], sum_t x[t,r] <= c[r] and
    need[t,r] <= x[t,r] <= limit_left[t,r]?  Shift x = need + y (section 5.2)."""
    need = need or {}
    k2 = {t: k[t] - sum(need.get((t, r), 0) for r in c) for t in k}
    c2 = {r: c[r] - sum(need.get((t, r), 0) for t in k) for r in c}
    allow = {(t, r): limit_left[(t, r)] - need.get((t, r), 0) for t in k for r in c}
    if min(list(k2.values()) + list(c2.values()) + list(allow.values()) + [0]) < 0:
        return False
    return max_flow(k2, c2, allow) == sum(k2.values())


def lower_bounds(inputs, K, expert_rooms, seats):
    """Section 5.2: each tender's lower bound; the even one when all fit, else greedy
    in tender order. Returns (lower, relaxed list as in the record)."""
    R = len(expert_rooms)
    m = {t: -(-K[t] // R) for t in K}
    want = {t: (K[t] // R if inputs["algorithm"] >= 2 else 0) for t in K}
    c = {r: len(seats[r]) for r in expert_rooms}
    left = {(t, r): m[t] for t in K for r in expert_rooms}

    def fits(low):
        return feasible(dict(K), c, left, {(t, r): low[t] for t in K for r in expert_rooms})

    if fits(want):
        return want, []
    if not feasible(dict(K), c, left):
        raise ValueError("infeasible")
    low = {t: 0 for t in K}
    for t in sorted(K, key=str.encode):
        if want[t]:
            low[t] = want[t]
            if not fits(low):
                low[t] = 0
    relaxed = [{"tender": t, "experts": K[t], "expert_rooms": R, "at_most": m[t],
                "at_least": low[t],
                "reason": "the expert rooms' seats cannot also hold at least %d of its experts "
                          "in every expert room once the tenders before it in tender order "
                          "keep theirs" % want[t]}
               for t in sorted(K, key=str.encode) if low[t] != want[t]]
    return low, relaxed


def draw(inputs, seed):
    rooms = sorted(inputs["rooms"], key=lambda r: r["id"].encode())
    persons = sorted(inputs["persons"], key=lambda p: p["id"].encode())
    expert_rooms = [r["id"] for r in rooms if r["kind"] == "expert"]
    seats = {r["id"]: sorted(r["seats"], key=str.encode) for r in rooms}
    kind = {r["id"]: r["kind"] for r in rooms}
    K = {}
    for p in persons:
        if p["role"] == "expert":
            K[p["tender"]] = K.get(p["tender"], 0) + 1
    n_rep = sum(1 for p in persons if p["role"] == "tenderer")
    if n_rep > sum(len(seats[r["id"]]) for r in rooms if r["kind"] == "tenderer"):
        raise ValueError("infeasible")
    if K and sum(K.values()) > sum(len(seats[r]) for r in expert_rooms):
        raise ValueError("infeasible")
    R = len(expert_rooms)
    m = {t: -(-K[t] // R) for t in K}
    low, relaxed = lower_bounds(inputs, K, expert_rooms, seats) if K else ({}, [])
    k = dict(K)
    taken = set()
    c = {r: len(seats[r]) for r in expert_rooms}
    left = {(t, r): m[t] for t in K for r in expert_rooms}
    # need[t, r]: how many more of t room r must still get (the lower bound)
    need = {(t, r): low[t] for t in K for r in expert_rooms}
    stream = Stream(seed)
    result, trace = {}, []
    for p in persons:
        t = p["tender"]
        if p["role"] == "tenderer":
            allowed = [r["id"] for r in rooms if r["kind"] == "tenderer"]
        else:
            allowed = []
            for r in expert_rooms:
                if c[r] < 1 or left[(t, r)] < 1:
                    continue
                k[t] -= 1
                c[r] -= 1
                left[(t, r)] -= 1
                had = need[(t, r)]
                need[(t, r)] = max(0, had - 1)
                if feasible(k, c, left, need):
                    allowed.append(r)
                need[(t, r)] = had
                k[t] += 1
                c[r] += 1
                left[(t, r)] += 1
        cands = [(r, s) for r in allowed for s in seats[r] if (r, s) not in taken]
        i = stream.uniform(len(cands))
        room, seat = cands[i]
        taken.add((room, seat))
        result[p["id"]] = (room, seat)
        trace.append((p["id"], len(cands), i, room, seat))
        if p["role"] == "expert":
            k[t] -= 1
            c[room] -= 1
            left[(t, room)] -= 1
            need[(t, room)] = max(0, need[(t, room)] - 1)
    return result, trace, seats, kind, rooms, relaxed


def replace(state, seed, counter, person, replaces):
    occupants, seats, kind, rooms = state  # occupants: id -> (role, tender, room, seat)
    if replaces is not None:
        del occupants[replaces]
    taken = {(o[2], o[3]) for o in occupants.values()}
    free = {r["id"]: [s for s in seats[r["id"]] if (r["id"], s) not in taken] for r in rooms}
    if person["role"] == "tenderer":
        allowed = [r["id"] for r in rooms if kind[r["id"]] == "tenderer"]
    else:
        count = {r["id"]: sum(1 for o in occupants.values() if o[0] == "expert" and
                              o[1] == person["tender"] and o[2] == r["id"]) for r in rooms}
        open_rooms = [r["id"] for r in rooms if kind[r["id"]] == "expert" and free[r["id"]]]
        best = min((count[r] for r in open_rooms), default=None)
        allowed = [r for r in open_rooms if count[r] == best]
    cands = [(r, s) for r in allowed for s in free[r]]
    rseed = hashlib.sha256(tag("evalroom-draw-v1 replacement") + seed +
                           counter.to_bytes(4, "big")).digest()
    i = Stream(rseed).uniform(len(cands))
    occupants[person["id"]] = (person["role"], person["tender"]) + cands[i]
    return cands[i]


def check_record(rec):
    inputs = rec["inputs"]
    text = canonical(inputs)
    ih = hashlib.sha256(text.encode()).digest()
    secret = bytes.fromhex(rec["secret"])
    if hashlib.sha256(tag("evalroom-draw-v1 commitment") + secret + ih).hexdigest() != rec["commitment"]:
        return "commitment does not match secret and inputs"
    if ih.hex() != rec["input_hash"]:
        return "input_hash does not match"
    eh = hashlib.sha256(rec["entropy"].encode("utf-8")).digest()
    seed = hashlib.sha256(tag("evalroom-draw-v1 seed") + secret + eh + ih).digest()
    if seed.hex() != rec["seed"]:
        return "seed does not match"
    if rec["algorithm"] != inputs["algorithm"]:
        return "algorithm differs from inputs.algorithm"
    result, _, seats, kind, rooms, relaxed = draw(inputs, seed)
    if inputs["algorithm"] >= 2 and rec.get("relaxed") != relaxed:
        return "relaxed: record says %s, re-run gives %s" % (rec.get("relaxed"), relaxed)
    recorded = {a["person"]: (a["room"], a["seat"]) for a in rec["assignments"]}
    if len(recorded) != len(rec["assignments"]) or set(recorded) != set(result):
        return "assignments name other persons than the inputs"
    for p in sorted(result, key=str.encode):
        if recorded[p] != result[p]:
            return "seat of person %s: record says %s, re-run gives %s" % (p, recorded[p], result[p])
    roles = {p["id"]: (p["role"], p["tender"]) for p in inputs["persons"]}
    occupants = {p: roles[p] + result[p] for p in result}
    for rep in rec["replacements"]:
        got = replace((occupants, seats, kind, rooms), seed, rep["counter"], rep["person"],
                      rep["replaces"])
        if got != (rep["room"], rep["seat"]):
            return "replacement %d: record says %s, re-run gives %s" % (
                rep["counter"], (rep["room"], rep["seat"]), got)
    return None


def random_site(rng):
    n_expert = rng.randint(1, 5)
    rooms = [{"id": "E%d" % i, "kind": "expert",
              "seats": ["S%d" % s for s in rng.sample(range(12), rng.randint(1, 5))]}
             for i in range(n_expert)]
    rooms.append({"id": "W", "kind": "tenderer", "seats": ["S1", "S2", "S3", "S4"]})
    rng.shuffle(rooms)
    tenders = [{"id": "T%d" % i} for i in range(rng.randint(1, 4))]
    persons = []
    for t in tenders:
        for j in range(rng.randint(0, 7)):
            persons.append({"id": "%s-x%d" % (t["id"], j), "tender": t["id"], "role": "expert"})
        if rng.random() < 0.5:
            persons.append({"id": "%s-r" % t["id"], "tender": t["id"], "role": "tenderer"})
    rng.shuffle(persons)
    return {"algorithm": rng.choice([1, 2]), "rooms": rooms, "tenders": tenders, "persons": persons}


def random_check(tool, count):
    rng = random.Random(20261125)
    drawn = refused = v2 = relaxed = 0
    for n in range(count):
        site = random_site(rng)
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(site, f)
            f.flush()
            args = [tool, "run", f.name, "--entropy", "random site %d" % n]
            experts = [p for p in site["persons"] if p["role"] == "expert"]
            if experts:
                args += ["--replace", "NEW1:%s:expert:%s" % (experts[0]["tender"], experts[0]["id"])]
            args += ["--replace", "NEW2:T0:tenderer"]
            proc = subprocess.run(args, capture_output=True, text=True)
        try:
            draw(site, b"\x00" * 32)
            ref_ok = True
        except ValueError:
            ref_ok = False
        if proc.returncode != 0:
            # refused: either infeasible inputs (the reference must agree) or no free seat
            # for a replacement (then the C tool names it)
            if "refused" in proc.stderr:
                if ref_ok:
                    return "site %d: the tool refused a feasible site: %s" % (n, proc.stderr)
                refused += 1
                continue
            if "no free seat" in proc.stderr:
                continue
            return "site %d: tool failed: %s" % (n, proc.stderr)
        if not ref_ok:
            return "site %d: the tool drew an infeasible site" % n
        rec = json.loads(proc.stdout)
        why = check_record(rec)
        if why:
            return "site %d: %s" % (n, why)
        drawn += 1
        v2 += rec["algorithm"] == 2
        relaxed += bool(rec.get("relaxed"))
    print("reference: %d random sites drawn identically (%d of version 2, %d of them with "
          "relaxed tenders), %d refused by both" % (drawn, v2, relaxed, refused))
    if drawn < count // 4 or refused == 0 or v2 == 0 or relaxed == 0:
        return "the random sites did not exercise both outcomes"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("records", nargs="*")
    ap.add_argument("--tool")
    ap.add_argument("--random", type=int, default=0)
    a = ap.parse_args()
    for path in a.records:
        with open(path) as f:
            why = check_record(json.load(f))
        print("%s: %s" % (path, why or "OK"))
        if why:
            return 1
    if a.random:
        why = random_check(a.tool, a.random)
        if why:
            print(why)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
