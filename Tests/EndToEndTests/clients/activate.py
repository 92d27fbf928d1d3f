#!/usr/bin/env python3
"""Socket activation without systemd: bind a listening Unix socket, pass it as fd 3 with
LISTEN_FDS=1 and LISTEN_PID, then exec the daemon (which keeps this process's pid).

Usage: activate.py [--wrong-pid] LISTEN_PATH PROGRAM [ARGS...]
With --wrong-pid, LISTEN_PID names another process, so the daemon must ignore the socket.
"""
import os
import socket
import sys


def main(argv):
    wrong_pid = argv and argv[0] == "--wrong-pid"
    if wrong_pid:
        argv = argv[1:]
    path, program = argv[0], argv[1:]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o666)
    listener.listen(64)
    if listener.fileno() != 3:
        os.dup2(listener.fileno(), 3)
    os.set_inheritable(3, True)
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_FDNAMES"] = "engramd"
    os.environ["LISTEN_PID"] = "1" if wrong_pid else str(os.getpid())
    os.execv(program[0], program)


if __name__ == "__main__":
    main(sys.argv[1:])
