#!/usr/bin/env python3
"""An independent client: redis-py talks to engramd over its Unix socket.

Usage: redis_py_client.py SOCKET [PROTOCOL]. PROTOCOL is 2 or 3; without it redis-py uses
its default (redis-py 8 sends HELLO 3, so engramd must send RESP3 nils). Exits 0 and prints
"ok" when every check passed.
"""
import struct
import sys

import redis


def main(socket_path, protocol=None):
    options = {} if protocol is None else {"protocol": int(protocol)}
    r = redis.Redis(unix_socket_path=socket_path, **options)
    assert r.ping() is True
    assert r.execute_command("BANK.CREATE", "py", "DIM", 4, "BETA", 8) == b"OK"
    first = r.execute_command("STORE", "py", "1,0,0,0", "LABEL", "north")
    second = r.execute_command("STORE", "py", b"BIN", struct.pack("<4f", 0, 1, 0, 0))
    assert (first, second) == (1, 2), (first, second)
    assert r.execute_command("MSTORE", "py", 2, "0,0,1,0", "0,0,0,1") == [3, 4]

    reply = r.execute_command("COMPLETE", "py", "0.9,0.1,?,?")
    completion = dict(zip(reply[0::2], reply[1::2]))
    assert completion[b"pattern"] == b"0.9,0.1,0,0", completion
    support = completion[b"support"]
    assert support[0][0] == 1 and support[0][1] == b"north", support

    # Nil values inside and as replies: an unlabelled support entry, an unlabelled pattern,
    # a missing job.
    reply = r.execute_command("COMPLETE", "py", "0,1,?,?", "BETA", "0.5")
    completion = dict(zip(reply[0::2], reply[1::2]))
    unlabelled = [entry for entry in completion[b"support"] if entry[0] == 2]
    assert unlabelled and unlabelled[0][1] is None, completion
    pattern = r.execute_command("GET", "py", 2)
    fields = dict(zip(pattern[0::2], pattern[1::2]))
    assert fields[b"seq"] == 2 and fields[b"label"] is None, fields
    assert fields[b"pattern"] == b"0,1,0,0", fields
    assert r.execute_command("JOB.GET", "nojob") is None

    info = r.execute_command("BANK.INFO", "py")
    bank = dict(zip(info[0::2], info[1::2]))
    assert bank[b"count"] == 4 and bank[b"dim"] == 4, bank

    for command, code in [
        (("COMPLETE", "py", "1,2"), "DIM"),
        (("COMPLETE", "nobank", "1,2,3,4"), "NOBANK"),
        (("STORE", "py", "1,nan,0,0"), "BADFLOAT"),
        (("FROBNICATE",), "UNKNOWN"),
    ]:
        try:
            r.execute_command(*command)
        except redis.ResponseError as error:
            assert str(error).startswith(code), (command, str(error))
        else:
            raise AssertionError(f"{command} did not fail")
    assert r.ping() is True
    print("ok")


if __name__ == "__main__":
    main(*sys.argv[1:3])
