#!/usr/bin/env python3
"""A TCP relay that holds every byte DELAY milliseconds in each direction: the WAN delay
of the venue tests (tests/integration/venues_net.py). The kernels here have no sch_netem,
so the delay netem would add is added here, between the secondary venues' bridges and the
main venue's broker; TLS passes through untouched. Order is kept per direction.

    wan_relay.py --listen ADDR:PORT --to ADDR:PORT [--delay-ms 50]
"""
import argparse
import asyncio
import sys


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
                break
            queue.put_nowait((loop.time() + delay, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((loop.time() + delay, None))
    await task


async def serve(listen, to, delay):
    async def on_client(creader, cwriter):
        try:
            ureader, uwriter = await asyncio.open_connection(*to)
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(pump(creader, uwriter, delay), pump(ureader, cwriter, delay))

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
