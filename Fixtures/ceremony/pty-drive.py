#!/usr/bin/env python3
"""Drives an interactive program through a pseudo-terminal, as a person at a keyboard.

usage: pty-drive.py SCRIPT.json LOG -- PROGRAM ARGS...
SCRIPT.json is a list of [text-to-wait-for, line-to-type]. The driver waits until the
text has appeared since the last reply and the program shows its prompt ("> "), then
types the line and Enter ("^C" types Ctrl-C). Everything the terminal showed goes to LOG. Exits with the
program's exit status (or 124 when a prompt never came).
"""
import json, os, pty, select, sys, time

steps = json.load(open(sys.argv[1]))
log_path = sys.argv[2]
argv = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)

screen = b""
pending = b""

def pump(timeout):
    global screen, pending
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return True
    try:
        data = os.read(fd, 4096)
    except OSError:
        return False
    if not data:
        return False
    screen += data
    pending += data
    return True

status = None
for expect, reply in steps:
    deadline = time.time() + 30
    while not (expect.encode() in pending and pending.rstrip(b" ").endswith(b">")):
        if time.time() > deadline or not pump(0.5):
            open(log_path, "wb").write(screen)
            sys.stderr.write("never saw %r; last output: %r\n" % (expect, pending[-400:]))
            os.kill(pid, 9)
            sys.exit(124)
    pending = b""
    if reply == "^C":
        os.write(fd, b"\x03")  # the terminal's interrupt character: SIGINT to the program
    else:
        os.write(fd, reply.encode() + b"\n")

while pump(5):
    pass
_, raw = os.waitpid(pid, 0)
open(log_path, "wb").write(screen)
sys.exit(os.waitstatus_to_exitcode(raw))
