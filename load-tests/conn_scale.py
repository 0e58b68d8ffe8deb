#!/usr/bin/env python3
"""Connection scale of a running gateway: RSS and file descriptors per idle keep-alive
connection and per open stream.

Usage: conn_scale.py GATEWAY_URL GATEWAY_PID COUNT [COUNT...]

For each COUNT it opens COUNT keep-alive connections, each after one `GET /health`, and reads
the gateway's RSS (VmRSS) and open fds with them idle; closes them; then opens COUNT streams
(`POST /v1/chat/completions`, model `mock/tokens;n=300;delay=1000`: one token a second) and
reads RSS and fds once every stream has sent its first event; closes them. Prints one line per
measurement: what, count, RSS before and with them (KiB), KiB per connection, fds.
"""

import asyncio
import json
import sys
import time
from urllib.parse import urlparse


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    import os
    return len(os.listdir(f"/proc/{pid}/fd"))


async def open_idle(host, port):
    r, w = await asyncio.open_connection(host, port)
    w.write(f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await w.drain()
    head = await r.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await r.readexactly(length)
    return r, w


async def open_stream(host, port, model):
    r, w = await asyncio.open_connection(host, port)
    body = json.dumps({"model": model, "stream": True,
                       "messages": [{"role": "user", "content": "hello"}]}).encode()
    w.write(f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await w.drain()
    await r.readuntil(b"\r\n\r\n")
    await r.readuntil(b"\n\n")  # the first event
    return r, w


async def gather_limited(factories, limit=200):
    sem = asyncio.Semaphore(limit)

    async def run(f):
        async with sem:
            return await f()

    return await asyncio.gather(*(run(f) for f in factories))


async def settle(pid):
    """Waits until RSS stops moving (allocator work after a burst)."""
    last = rss_kib(pid)
    for _ in range(20):
        await asyncio.sleep(0.25)
        now = rss_kib(pid)
        if abs(now - last) < 64:
            return now
        last = now
    return last


async def measure(url, pid, what, count, model):
    u = urlparse(url)
    host, port = u.hostname, u.port
    base = await settle(pid)
    base_fds = fds(pid)
    start = time.monotonic()
    if what == "idle":
        conns = await gather_limited([lambda: open_idle(host, port)] * count)
    else:
        conns = await gather_limited([lambda: open_stream(host, port, model)] * count)
    took = time.monotonic() - start
    now = await settle(pid)
    now_fds = fds(pid)
    per = (now - base) / count
    print(f"{what:6} {count:6d} rss_before_kib={base} rss_kib={now} per_conn_kib={per:.1f} "
          f"fds={now_fds} (+{now_fds - base_fds}) open_s={took:.1f}", flush=True)
    for _, w in conns:
        w.close()


def main():
    url, pid, what, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    asyncio.run(measure(url, pid, what, count, "mock/tokens;n=300;delay=1000"))


if __name__ == "__main__":
    main()
