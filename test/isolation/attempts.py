"""What a hostile or buggy agent in a domU tries, through pyxs, as `xenemu exec` runs it.

Usage: attempts.py CASES OTHER_DOMID OTHER_UUID
Prints one line per attempt: "<label>: ok" or "<label>: <errno name>" (a reply's Xen
errno as libxenstore/pyxs map it). Privileged requests go out with execute_command,
since pyxs refuses some of them itself before xenstored sees them.
"""
import errno
import sys

import pyxs
import pyxs.client
from pyxs._internal import Op

NUL = b"\0"


# pyxs turns a reply's error name into an errno number, and a name outside
# xsd_errors[] (oxenstored's EQUOTA) into 0; keep the name the wire carried.
_error = pyxs.client.error


def _error_keeping_name(smth):
    e = _error(smth)
    if isinstance(smth, bytes):
        e.wire_name = smth.decode()
    return e


pyxs.client.error = _error_keeping_name


def errname(e):
    wire = getattr(e, "wire_name", None)
    if wire is not None:
        return wire
    n = e.args[0] if e.args else None
    return errno.errorcode.get(n, str(n)) if isinstance(n, int) else repr(e)


def attempt(label, f):
    try:
        f()
        print(f"{label}: ok", flush=True)
        return True
    except pyxs.PyXSError as e:
        print(f"{label}: {errname(e)}", flush=True)
        return False


def access(c, other, uuid):
    home = f"/local/domain/{other}".encode()
    mine = b"/local/domain/" + c.read(b"domid")
    attempt("read another domain's name", lambda: c.read(home + b"/name"))
    attempt("list another domain's home", lambda: c.list(home))
    attempt("read another domain's permissions", lambda: c.get_perms(home + b"/name"))
    attempt("read dom0's name", lambda: c.read(b"/local/domain/0/name"))
    attempt("list dom0's home", lambda: c.list(b"/local/domain/0"))
    attempt("list /local/domain", lambda: c.list(b"/local/domain"))
    attempt("read another domain's /vm", lambda: c.read(f"/vm/{uuid}/name".encode()))
    attempt("write in another domain's home", lambda: c.write(home + b"/data/x", b"1"))
    attempt("write in dom0's home", lambda: c.write(b"/local/domain/0/x", b"1"))
    attempt("mkdir at the root", lambda: c.mkdir(b"/evil"))
    attempt("write below /tool", lambda: c.write(b"/tool/x", b"1"))
    attempt("rm another domain's name", lambda: c.delete(home + b"/name"))
    attempt("rm its own home", lambda: c.delete(mine))
    attempt("overwrite its own name", lambda: c.write(b"name", b"evil"))
    attempt("write its own data/", lambda: c.write(b"data/x", b"1"))
    attempt("chmod another domain's node", lambda: c.set_perms(home + b"/name", [b"n" + c.read(b"domid")]))
    attempt("chmod its own name (dom0's node)", lambda: c.set_perms(b"name", [b"b" + c.read(b"domid")]))
    attempt("chown its own node to another domain", lambda: c.set_perms(b"data/x", [f"n{other}".encode()]))
    attempt("chmod its own node", lambda: c.set_perms(b"data/x", [b"n" + c.read(b"domid"), f"r{other}".encode()]))
    attempt("get another domain's path", lambda: c.get_domain_path(int(other)))


def privileged(c, other):
    d = str(other).encode()
    attempt("INTRODUCE", lambda: c.execute_command(Op.INTRODUCE, b"99", NUL, b"1234", NUL, b"5", NUL))
    attempt("RELEASE", lambda: c.execute_command(Op.RELEASE, d, NUL))
    attempt("SET_TARGET", lambda: c.execute_command(Op.SET_TARGET, d, NUL, b"0", NUL))
    attempt("RESUME", lambda: c.execute_command(Op.RESUME, d, NUL))
    attempt("IS_DOMAIN_INTRODUCED", lambda: c.execute_command(Op.IS_DOMAIN_INTRODUCED, d, NUL))
    attempt("CONTROL", lambda: c.execute_command(Op.DEBUG, b"watches", NUL))


def until_refused(label, f, bound=500):
    """Call f(i) until it fails; print how it failed. Returns how many succeeded."""
    for i in range(bound):
        try:
            f(i)
        except pyxs.PyXSError as e:
            print(f"{label}: {errname(e)}", flush=True)
            return i
    print(f"{label}: never refused", flush=True)
    return bound


def quotas(c, other):
    n = until_refused("past the node quota", lambda i: c.write(f"data/q{i}".encode(), b"v"))
    attempt("a node again once one is removed", lambda: (c.delete(b"data/q0"), c.write(b"data/q0", b"v")))
    for i in range(n):
        c.delete(f"data/q{i}".encode())
    attempt("a value over the size quota", lambda: c.write(b"data/big", b"x" * 2049))
    attempt("a value at the size quota", lambda: c.write(b"data/big", b"x" * 2048))
    m = c.monitor()
    w = until_refused("past the watch quota", lambda i: m.watch(f"data/w{i}".encode(), b"t"))
    attempt("a watch again once one is removed", lambda: (m.unwatch(b"data/w0", b"t"), m.watch(b"data/w0", b"t")))
    for i in range(w):
        m.unwatch(f"data/w{i}".encode(), b"t")
    m.close()
    clients = []

    def start(_i):
        x = pyxs.Client()
        x.connect()
        clients.append(x)
        x.transaction()

    until_refused("past the transaction quota", start)
    attempt("a transaction again once one ends", lambda: (clients[0].rollback(), clients[0].transaction()))
    for x in clients:
        try:
            x.rollback()
        except pyxs.PyXSError:
            pass
        x.close()
    attempt("the domain works under quota again", lambda: (c.write(b"data/after", b"1"), c.delete(b"data/after")))


def main():
    cases, other, uuid = sys.argv[1], sys.argv[2], sys.argv[3]
    with pyxs.Client() as c:
        for case in cases.split(","):
            {"access": lambda: access(c, other, uuid), "privileged": lambda: privileged(c, other), "quotas": lambda: quotas(c, other)}[case]()


main()
