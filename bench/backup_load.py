"""Backups running beside the archive benchmark (bench/archive.sh), as the controller's
verified copies do them (controller/daemon/copies.c, copy_store_dir.c) on the same disk:
a sealed archive SRC is copied into the backup store STORE (written in 1 MiB pieces to a
temporary name, fsync, rename, fsync of the directory) and the copy read back whole and its
SHA-256 compared with the source's (the verification after writing, as at a seal); then,
until killed, the copy is read again and again at most RATE MB/s (the re-verification of
every copy, [copies] verify_mb_per_s, 64 by default), and with COPY_EVERY_S > 0 a new copy
is made that often (0: only the first). Prints, when stopped (SIGTERM), one line:

  backups: N copies written and verified, M MB re-verified

usage: backup_load.py SRC STORE [rate_mb_per_s] [copy_every_s]"""
import hashlib
import os
import signal
import sys
import time

BUF = 1 << 20


def sha256_of(path, rate=0.0):
    h, done, t0 = hashlib.sha256(), 0, time.monotonic()
    with open(path, "rb") as f:
        while True:
            b = f.read(BUF)
            if not b:
                return h.hexdigest(), done
            h.update(b)
            done += len(b)
            if rate > 0:  # low priority: never faster than RATE
                due = t0 + done / (rate * 1e6)
                if due > time.monotonic():
                    time.sleep(due - time.monotonic())


def copy(src, store):
    tmp, dst = os.path.join(store, ".copy.tmp"), os.path.join(store, "copy.evarc")
    with open(src, "rb") as i, open(tmp, "wb") as o:
        while True:
            b = i.read(BUF)
            if not b:
                break
            o.write(b)
        o.flush()
        os.fsync(o.fileno())
    os.rename(tmp, dst)
    fd = os.open(store, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(fd)
    os.close(fd)
    return dst


def main():
    src, store = sys.argv[1], sys.argv[2]
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 64.0
    every = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    os.makedirs(store, exist_ok=True)
    want, _ = sha256_of(src)
    stats = {"copies": 0, "reverified": 0}

    def report(*_):
        print("backups: %d copies written and verified, %d MB re-verified"
              % (stats["copies"], stats["reverified"] / 1e6), flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, report)
    last = None
    while True:
        if last is None or (every > 0 and time.monotonic() - last >= every):
            last = time.monotonic()
            dst = copy(src, store)
            got, _ = sha256_of(dst)
            if got != want:
                print("backups: the copy read back differs from its source", file=sys.stderr)
                sys.exit(1)
            stats["copies"] += 1
        _, n = sha256_of(dst, rate)
        stats["reverified"] += n


if __name__ == "__main__":
    main()
