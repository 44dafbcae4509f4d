#!/usr/bin/env python3
"""Drives an interactive program through a pseudo-terminal, as a person at a keyboard.

usage: pty-drive.py SCRIPT.json LOG [--timeout SECONDS] -- PROGRAM ARGS...

SCRIPT.json is a list of [text-to-wait-for, line-to-type] or [text, line, PATH]. The driver waits until the text
has appeared since the last reply and the program shows its prompt (output ending in ">", or,
when the awaited text itself ends in ":", output ending in that text — a PIN prompt), then
types the line and Enter. "^C" types the terminal's interrupt character instead; "^C^C" types
it twice. With a PATH, the driver first creates PATH.ready and waits until PATH exists: the
test's turn to act in the room (take a card out, put another in). Everything the terminal
showed goes to LOG.

Exits with the program's exit status, or 124 when a prompt never came within 30 seconds or
the whole run took longer than --timeout (default 120). On any way out that is not the
program's own exit, the program's whole process group is killed (SIGKILL), so a hung
ceremony never outlives the test that started it.
"""
import json, os, pty, select, signal, sys, time

steps = json.load(open(sys.argv[1]))
log_path = sys.argv[2]
head = sys.argv[3:sys.argv.index("--")]
total = float(head[head.index("--timeout") + 1]) if "--timeout" in head else 120.0
argv = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)

started = time.time()
screen = b""
pending = b""
exited = None


def kill_group():
    # pty.fork made the child a session (and process group) leader.
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except OSError:
            pass


def give_up(message, code=124):
    kill_group()
    open(log_path, "wb").write(screen)
    sys.stderr.write(message + "; last output: %r\n" % pending[-400:])
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass
    sys.exit(code)


def on_term(signum, frame):
    give_up("pty-drive was terminated (signal %d)" % signum)


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGHUP, on_term)


def pump(timeout):
    """Reads what the program printed; False once the terminal is closed."""
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


def prompted(expect):
    if expect.encode() not in pending:
        return False
    tail = pending.rstrip(b" ")
    if tail.endswith(b">"):
        return True
    e = expect.rstrip().encode()
    return e.endswith(b":") and tail.endswith(e)


def hand_over(path):
    """A step's third element, PATH: the test does something in the room (moves a card) before
    the reply. The driver creates PATH.ready and waits until the test creates PATH."""
    open(path + ".ready", "w").close()
    deadline = min(time.time() + 60, started + total)
    while not os.path.exists(path):
        if time.time() > deadline:
            give_up("the test never finished its part at %r" % path)
        pump(0.2)


for step in steps:
    expect, reply = step[0], step[1]
    deadline = min(time.time() + 30, started + total)
    while not prompted(expect):
        if time.time() > deadline:
            give_up("never saw %r" % expect)
        if not pump(0.2):
            give_up("the program ended before %r" % expect, 125)
    pending = b""
    if len(step) > 2:
        hand_over(step[2])
    if reply.startswith("^C"):
        for _ in range(reply.count("^C")):
            os.write(fd, b"\x03")  # the terminal's interrupt character: SIGINT to the program
            time.sleep(0.3)
    else:
        os.write(fd, reply.encode() + b"\n")

# Drain until the program exits (and the terminal closes), within the overall limit.
while True:
    if time.time() > started + total:
        give_up("the program did not exit within %gs" % total)
    done, raw = os.waitpid(pid, os.WNOHANG)
    if done:
        before = len(screen)
        while pump(0.3) and len(screen) > before and time.time() < started + total:
            before = len(screen)
        kill_group()  # anything the program left behind in its group
        open(log_path, "wb").write(screen)
        sys.exit(os.waitstatus_to_exitcode(raw))
    pump(0.2)
