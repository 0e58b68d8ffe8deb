"""Scale-out test: three gateway instances sharing Redis and PostgreSQL behind a round-robin
client (standard library only; started by scaleout.sh, which says how to run it).

One key with rpm 60 and a budget; REQUESTS requests spread evenly over DURATION seconds,
round-robin over the instances, CONCURRENCY at a time. Checks:

1. The accepted count is within the stated bound: GCRA lets the whole limit through at once
   and refills one a second, so over T seconds at most 60 + ceil(T) are accepted, whichever
   instances they reach (no lease: the limit is below 100). Printed with the bound.
2. Halfway, one instance is killed with `kill -9`. The client acts as a load balancer: a
   connection refused marks the instance dead and the request goes to the next one (it never
   reached a gateway). Failures are requests that break after reaching an instance; only the
   killed instance's in-flight requests may fail.
3. The spend in PostgreSQL equals the sum of the `x-gateway-cost-usd` headers of the answers of
   the surviving instances (exactly: every record was flushed); for the killed instance, what
   it recorded is at most what it answered (its last second of records dies with it), and the
   loss is printed.

Before that, the lease phase (all three instances up): a second key with rpm 1000, so each
instance leases 10 requests at a time from Redis, takes LEASE requests as fast as the instances
answer. The accepted count is printed against the bucket (burst plus refill, which leased units
are charged to when taken) and the bound with one lease per instance, and must stay under it;
it must reach the burst less the leases that can be lost unused. The admission scripts Redis ran
during the phase show how many round trips the leases spared.
"""

import argparse
import http.client
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

ADMIN = "scaleout-admin-token-0123456789"
# The lease phase's key: rpm 1000 takes leases of 10.
LEASE_RPM = 1000


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(port, method, path, body=None, token=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), data


def psql(db, sql):
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-tAc", sql],
        check=True, capture_output=True, text=True,
    )
    return out.stdout.strip()


def admit_calls():
    """How many admission scripts Redis has run (all clients: an upper bound for ours)."""
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "info", "commandstats"],
                         check=True, capture_output=True, text=True).stdout
    calls = 0
    for line in out.splitlines():
        if line.startswith(("cmdstat_evalsha:", "cmdstat_eval:")):
            fields = dict(f.split("=", 1) for f in line.split(":", 1)[1].strip().split(","))
            calls += int(fields["calls"])
    return calls


def lease_phase(ports, requests, concurrency):
    """A key with rpm LEASE_RPM (lease 1 %) takes `requests` requests as fast as the three
    instances answer: the accepted count against the bucket (burst plus refill), the bound with
    N leases, and how many requests paid a Redis round trip."""
    status, _, body = request(ports[0], "POST", "/admin/keys",
                              {"name": "lease", "limits": {"rpm": LEASE_RPM}}, token=ADMIN)
    assert status == 201, (status, body)
    secret = json.loads(body)["key"]
    lease = LEASE_RPM // 100
    body = {"model": "mock/echo", "max_tokens": 5, "messages": [{"role": "user", "content": "lease"}]}
    statuses = []
    start = time.monotonic()
    # Every instance knows the new key before the clock starts (these count as accepted).
    for port in ports:
        for _ in range(200):
            status = request(port, "POST", "/v1/chat/completions", body, token=secret)[0]
            if status != 401:
                statuses.append(status)
                break
            time.sleep(0.05)
        else:
            sys.exit(f"instance on {port} never learnt of the lease key")
    calls_before = admit_calls()
    lock = threading.Lock()

    def one(n):
        status = request(ports[n % 3], "POST", "/v1/chat/completions", body, token=secret)[0]
        with lock:
            statuses.append(status)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests)))
    elapsed = time.monotonic() - start
    calls = admit_calls() - calls_before
    accepted = statuses.count(200)
    refused = statuses.count(429)
    other = len(statuses) - accepted - refused
    bucket = LEASE_RPM + math.ceil(elapsed * LEASE_RPM / 60)
    bound = bucket + 3 * lease
    print(f"lease phase: {len(statuses)} requests in {elapsed:.1f} s to 3 instances, key rpm {LEASE_RPM}, lease {lease}")
    print(f"accepted {accepted}, refused 429 {refused}, other {other}; bucket (burst + refill) {bucket}, "
          f"bound with 3 leases {bound}; over the bucket: {accepted - bucket}")
    print(f"Redis scripts run during the phase: {calls} for {requests} requests "
          f"(leases spared {max(0, requests - calls)} round trips)")
    ok = True
    if accepted > bound:
        print(f"FAIL: {accepted} accepted, over the bound {bound}")
        ok = False
    if accepted < LEASE_RPM - 3 * lease:
        print(f"FAIL: {accepted} accepted: fewer than the burst less the leases that can be lost")
        ok = False
    if refused == 0 or other:
        print("FAIL: the phase never reached the limit, or saw answers other than 200 and 429")
        ok = False
    if calls >= requests:
        print("FAIL: every request paid a Redis round trip: no lease was used")
        ok = False
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--duration", type=float, default=15.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--lease-requests", type=int, default=1500,
                    help="requests of the lease phase (0: skip it)")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="llm-gw-scaleout.")
    db = f"llmgw_scaleout_{os.getpid()}_{random.randrange(1 << 30)}"
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db}", "postgres"],
                   check=True, capture_output=True)
    prefix = f"scaleout-{random.randrange(1 << 48):012x}:"
    procs = []
    try:
        ports = [free_port() for _ in range(3)]
        for i, port in enumerate(ports):
            cfg = os.path.join(work, f"gw{i}.toml")
            with open(cfg, "w") as f:
                f.write(f"""[server]
port = {port}
admin_token = "{ADMIN}"
[database]
url = "postgres://postgres@127.0.0.1:5432/{db}"
[redis]
url = "redis://127.0.0.1:6379"
key_prefix = "{prefix}"
[rate_limit]
enabled = true
[rate_limit.default_limits]
rpm = 0
tpm = 0
rpd = 0
concurrent = 0
[[providers]]
id = "mock"
provider_type = "mock"
[[models]]
id = "echo"
provider = "mock"
input_price_per_mtok = 1000.0
output_price_per_mtok = 2000.0
max_output_tokens = 100
""")
            log = open(os.path.join(work, f"gw{i}.log"), "w")
            procs.append(subprocess.Popen([args.bin, "-c", cfg], stdout=log, stderr=log,
                                          env=dict(os.environ, RUST_LOG="warn")))
        for i, port in enumerate(ports):
            for _ in range(200):
                try:
                    if request(port, "GET", "/health", timeout=1)[0] == 200:
                        break
                except OSError:
                    pass
                if procs[i].poll() is not None:
                    sys.exit(f"instance {i} exited: see {work}/gw{i}.log")
                time.sleep(0.05)

        status, _, body = request(ports[0], "POST", "/admin/keys",
                                  {"name": "scaleout", "limits": {"rpm": 60}, "max_budget_usd": 1000.0},
                                  token=ADMIN)
        assert status == 201, (status, body)
        key = json.loads(body)
        secret, key_id = key["key"], key["id"]
        # Every instance knows the key (they poll the database): a wrong one is refused.
        for port in ports:
            for _ in range(200):
                if request(port, "POST", "/v1/chat/completions", {"model": "mock/echo", "messages": []},
                           token="sk-wrong")[0] == 401:
                    break
                time.sleep(0.05)
            else:
                sys.exit(f"instance on {port} never learnt of the key")

        if args.lease_requests:
            ok_lease = lease_phase(ports, args.lease_requests, args.concurrency)
        else:
            ok_lease = True

        alive = [True, True, True]
        lock = threading.Lock()
        rr = [0]
        answers = []  # (instance, status, cost, request id)
        failures = []  # (instance, error)
        killed = {"at": None, "instance": 1}
        body = {"model": "mock/echo", "max_tokens": 20,
                "messages": [{"role": "user", "content": "scale out"}]}

        def one(_):
            tried = 0
            while tried < 3:
                with lock:
                    live = [i for i in range(3) if alive[i]]
                    i = live[rr[0] % len(live)]
                    rr[0] += 1
                try:
                    status, headers, _ = request(ports[i], "POST", "/v1/chat/completions", body, token=secret)
                except ConnectionRefusedError:
                    with lock:
                        alive[i] = False
                    tried += 1
                    continue
                except OSError as e:
                    with lock:
                        failures.append((i, repr(e)))
                    return
                with lock:
                    answers.append((i, status, float(headers.get("x-gateway-cost-usd", "0")),
                                    headers.get("x-request-id")))
                return
            with lock:
                failures.append((-1, "no instance left"))

        start = time.monotonic()
        gap = args.duration / args.requests
        with ThreadPoolExecutor(args.concurrency) as pool:
            futures = []
            for n in range(args.requests):
                delay = start + n * gap - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if n == args.requests // 2:
                    procs[killed["instance"]].send_signal(signal.SIGKILL)
                    killed["at"] = time.monotonic() - start
                futures.append(pool.submit(one, n))
            for f in futures:
                f.result()
        elapsed = time.monotonic() - start

        accepted = sum(1 for a in answers if a[1] == 200)
        refused = sum(1 for a in answers if a[1] == 429)
        other = [a for a in answers if a[1] not in (200, 429)]
        bound = 60 + math.ceil(elapsed)
        print(f"{args.requests} requests over {elapsed:.1f} s to 3 instances (instance 1 killed at {killed['at']:.1f} s)")
        print(f"accepted {accepted}, refused 429 {refused}, other {len(other)}, failed {len(failures)}")
        print(f"bound: accepted <= 60 + ceil({elapsed:.1f} s) x 1/s = {bound} (lease 0: the limit is below 100)")
        ok = True
        if accepted > bound:
            print(f"FAIL: {accepted} accepted, over the bound {bound}")
            ok = False
        if accepted < 60:
            print(f"FAIL: only {accepted} accepted: the limit let fewer than its burst through")
            ok = False
        if other:
            print(f"FAIL: unexpected answers {other[:5]}")
            ok = False
        bad = [f for f in failures if f[0] != killed["instance"]]
        if bad:
            print(f"FAIL: failures beyond the killed instance's in-flight requests: {bad[:5]}")
            ok = False
        if len(failures) - len(bad) > args.concurrency:
            print(f"FAIL: {len(failures)} failures on the killed instance, more than could be in flight")
            ok = False

        # Spend: records are flushed within a second.
        headers_by = {i: sum(a[2] for a in answers if a[0] == i and a[1] == 200) for i in range(3)}
        ids_by = {i: [a[3] for a in answers if a[0] == i and a[1] == 200] for i in range(3)}
        survivors = [i for i in range(3) if i != killed["instance"]]
        want = sum(headers_by[i] for i in survivors)
        deadline = time.monotonic() + 10
        while True:
            recorded = {}
            for i in range(3):
                ids = ids_by[i]
                if not ids:
                    recorded[i] = (0, 0.0)
                    continue
                quoted = ",".join("'" + x.replace("'", "''") + "'" for x in ids)
                row = psql(db, f"SELECT count(*), coalesce(sum(cost_usd), 0) FROM request_records WHERE id IN ({quoted})")
                n, s = row.split("|")
                recorded[i] = (int(n), float(s))
            have = sum(recorded[i][1] for i in survivors)
            if abs(have - want) < 1e-9 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        total_pg = float(psql(db, f"SELECT coalesce(sum(cost_usd), 0) FROM request_records WHERE key_id = '{key_id}'"))
        print(f"spend of the survivors: PostgreSQL ${have:.9f}, cost headers ${want:.9f}")
        k = killed["instance"]
        lost = len(ids_by[k]) - recorded[k][0]
        print(f"killed instance: answered {len(ids_by[k])} (${headers_by[k]:.9f}), recorded {recorded[k][0]} (${recorded[k][1]:.9f}); "
              f"{lost} records lost with it (its last second)")
        print(f"all spend of the key in PostgreSQL: ${total_pg:.9f}; all cost headers: ${sum(headers_by.values()):.9f}")
        if abs(have - want) >= 1e-9:
            print("FAIL: the survivors' spend in PostgreSQL differs from their cost headers")
            ok = False
        if recorded[k][1] > headers_by[k] + 1e-9:
            print("FAIL: the killed instance recorded more than it answered")
            ok = False
        if accepted > 0 and want <= 0:
            print("FAIL: the answers cost nothing: the spend check proves nothing")
            ok = False
        ok = ok and ok_lease
        print("scaleout: OK" if ok else f"scaleout: FAILED (logs in {work})")
        sys.exit(0 if ok else 1)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                        f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", "postgres"], capture_output=True)
        keys = subprocess.run(["redis-cli", "-h", "127.0.0.1", "--scan", "--pattern", prefix + "*"],
                              capture_output=True, text=True).stdout.split()
        if keys:
            subprocess.run(["redis-cli", "-h", "127.0.0.1", "del", *keys], capture_output=True)


if __name__ == "__main__":
    main()
