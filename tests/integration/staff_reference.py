"""An independent re-implementation of the staff draw from docs/staff.md alone (no code of
common/draw/): re-runs a staff draw record and returns the list of differences (empty when
the record is right). Also usable as `python3 staff_reference.py RECORD.json`."""
import hashlib
import json
import sys


def tag(text):
    return text.encode() + b"\0"


def canonical(inputs):
    slots = sorted(({"eligible": sorted(s["eligible"]), "post": s["post"],
                     "tender": s["tender"]} for s in inputs["slots"]),
                   key=lambda s: (s["tender"].encode(), s["post"].encode()))
    doc = {"algorithm": inputs["algorithm"], "date": inputs["date"], "draw": "staff",
           "session": inputs["session"], "slots": slots}
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=True)


class Stream:
    def __init__(self, seed):
        self.seed, self.i, self.buf = seed, 0, b""

    def word(self):
        if not self.buf:
            self.buf = hashlib.sha256(tag("evalroom-draw-v1 stream") + self.seed +
                                      self.i.to_bytes(8, "big")).digest()
            self.i += 1
        w, self.buf = self.buf[:4], self.buf[4:]
        return int.from_bytes(w, "big")

    def uniform(self, n):
        limit = 2 ** 32 - (2 ** 32 % n)
        while True:
            x = self.word()
            if x < limit:
                return x % n


def redraw(record):
    """The record's hashes and assignment recomputed: a dict of the same members."""
    text = canonical(record["inputs"])
    ih = hashlib.sha256(text.encode()).digest()
    secret = bytes.fromhex(record["secret"])
    entropy = record["entropy"].encode()
    eh = hashlib.sha256(entropy).digest()
    seed = hashlib.sha256(tag("evalroom-draw-v1 seed") + secret + eh + ih).digest()
    s = Stream(seed)
    assignment = []
    for slot in json.loads(text)["slots"]:
        n = len(slot["eligible"])
        k = s.uniform(n)
        assignment.append({"tender": slot["tender"], "post": slot["post"],
                           "person": slot["eligible"][k], "n": n, "k": k})
    return {"input_hash": ih.hex(),
            "commitment": hashlib.sha256(tag("evalroom-draw-v1 commitment") + secret +
                                         ih).hexdigest(),
            "entropy_hash": eh.hex(), "seed": seed.hex(), "assignment": assignment,
            "canonical": text}


def differences(record):
    again = redraw(record)
    return [k for k in ("input_hash", "commitment", "entropy_hash", "seed", "assignment")
            if again[k] != record[k]]


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        bad = differences(json.load(f))
    print("MISMATCH: " + ", ".join(bad) if bad else "VERIFIED")
    sys.exit(1 if bad else 0)
