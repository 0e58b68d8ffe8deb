#!/usr/bin/env python3
"""Crash test of the request records: load, `kill -9`, count what survived.

Usage: crash_records.py GATEWAY_URL GATEWAY_PID DB_FILE [SECONDS] [CONNECTIONS]

Sends chat requests on CONNECTIONS keep-alive connections (default 16), each with its own
`x-request-id`, for SECONDS (default 5); then kills the gateway with SIGKILL while the load
runs, and notes when. Every request answered more than the writer's flush interval (1 s)
before the kill must be in the database afterwards (the SQLite file DB_FILE, read directly).
Prints the counts and exits 1 when any such record is missing.
"""

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from urllib.parse import urlparse

FLUSH_INTERVAL = 1.0


async def worker(host, port, prefix, done, stop):
    r, w = await asyncio.open_connection(host, port)
    body = json.dumps({"model": "mock/echo", "messages": [{"role": "user", "content": "crash test"}]}).encode()
    n = 0
    try:
        while not stop.is_set():
            rid = f"crash-{prefix}-{n}"
            n += 1
            w.write(
                f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"x-request-id: {rid}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
            )
            await w.drain()
            head = await r.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await r.readexactly(length)
            if head.startswith(b"HTTP/1.1 200"):
                done.append((rid, time.monotonic()))
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        pass


async def main():
    url, pid, db = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
    conns = int(sys.argv[5]) if len(sys.argv) > 5 else 16
    u = urlparse(url)
    done, stop = [], asyncio.Event()
    tasks = [asyncio.create_task(worker(u.hostname, u.port, i, done, stop)) for i in range(conns)]
    await asyncio.sleep(seconds)
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    stop.set()
    await asyncio.gather(*tasks)
    old = [rid for rid, at in done if at < killed_at - FLUSH_INTERVAL]
    # Opened read-write: a WAL the killed process left is recovered on open.
    with sqlite3.connect(db) as conn:
        present = {row[0] for row in conn.execute("SELECT id FROM request_records")}
    missing = [rid for rid in old if rid not in present]
    answered = len(done)
    print(
        f"answered {answered} requests in {seconds:.0f} s on {conns} connections; "
        f"{len(old)} answered over {FLUSH_INTERVAL:.0f} s before the kill; "
        f"records present after the kill: {len(present)} "
        f"({len([r for r, _ in done if r in present])} of the answered); "
        f"missing of the older ones: {len(missing)}"
    )
    if missing:
        print("missing:", ", ".join(missing[:10]))
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
