#!/usr/bin/env python3
"""A TCP relay that holds every byte DELAY milliseconds in each direction: the WAN delay
of the venue tests (tests/integration/venues_net.py). The kernels here have no sch_netem,
so the delay netem would add is added here, between the secondary venues' bridges and the
main venue's broker; TLS passes through untouched. Order is kept per direction.

SIGUSR1 cuts the link (a black hole, as a failed WAN looks: bytes either way are dropped,
no reset is sent, a new connection is accepted but never reaches the other side); SIGUSR2
restores it, closing every connection that lived through the cut (their peers have given
up on them; after a real cut their next segment would meet a reset). Used where namespaces
are not (bench/venues_bench.py, the venues demo).

    wan_relay.py --listen ADDR:PORT --to ADDR:PORT [--delay-ms 50]
"""
import argparse
import asyncio
import signal
import sys

CUT = {"on": False, "doomed": set()}  # the black hole, and the connections it holds


async def pump(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def release():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if CUT["on"]:
                continue  # into the black hole
            writer.write(data)
            try:
                await writer.drain()
            except (ConnectionError, OSError):
                break
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass

    task = asyncio.ensure_future(release())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                if CUT["on"]:
                    await cut_over()  # a close is not carried through a cut either
                break
            if not CUT["on"]:
                queue.put_nowait((loop.time() + delay, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((loop.time() + delay, None))
    await task


async def cut_over():
    """Returns once the cut is over."""
    while CUT["on"]:
        await asyncio.sleep(0.1)


def set_cut(on):
    CUT["on"] = on
    print("link %s" % ("cut" if on else "restored"), flush=True)
    if not on:
        for w in list(CUT["doomed"]):
            try:
                w.transport.abort()
            except (ConnectionError, OSError, AttributeError):
                pass
        CUT["doomed"].clear()


async def serve(listen, to, delay):
    async def on_client(creader, cwriter):
        if CUT["on"]:
            # accepted, but nothing reaches the other side; closed when the link returns
            CUT["doomed"].add(cwriter)
            while CUT["on"] and await creader.read(65536):
                pass
            cwriter.close()
            return
        try:
            ureader, uwriter = await asyncio.open_connection(*to)
        except OSError:
            cwriter.close()
            return
        both = (cwriter, uwriter)

        async def mark():
            # every connection alive when a cut begins dies when it ends
            while not cwriter.is_closing():
                if CUT["on"]:
                    CUT["doomed"].update(both)
                await asyncio.sleep(0.1)
        watcher = asyncio.ensure_future(mark())
        await asyncio.gather(pump(creader, uwriter, delay), pump(ureader, cwriter, delay))
        watcher.cancel()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, set_cut, True)
    loop.add_signal_handler(signal.SIGUSR2, set_cut, False)
    server = await asyncio.start_server(on_client, listen[0], listen[1])
    print("relaying %s:%d -> %s:%d, %.0f ms each way" % (listen + to + (delay * 1000,)),
          flush=True)
    async with server:
        await server.serve_forever()


def addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", type=addr, required=True)
    p.add_argument("--to", type=addr, required=True)
    p.add_argument("--delay-ms", type=float, default=50.0)
    a = p.parse_args()
    try:
        asyncio.run(serve(a.listen, a.to, a.delay_ms / 1000.0))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
