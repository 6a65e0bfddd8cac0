"""A domU agent that watches another domain's data/ and its own data/marker.

Prints "ready" once both watches are registered and their initial events read, then
every event it gets until its own marker fires again, as "<token> <path>", then "done".
"""
import sys

import pyxs

other = sys.argv[1]
with pyxs.Client() as c:
    m = c.monitor()
    m.watch(f"/local/domain/{other}/data".encode(), b"other")
    m.watch(b"data/marker", b"mine")
    events = m.wait()
    initial = sorted(next(events).token.decode() for _ in range(2))
    print("initial", " ".join(initial), flush=True)
    print("ready", flush=True)
    for e in events:
        print(e.token.decode(), e.path.decode(), flush=True)
        if e.token == b"mine":
            break
    print("done", flush=True)
