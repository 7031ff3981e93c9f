#!/usr/bin/env python3
"""Runs a command and writes, to the file named first, its wall time, the cores it used,
and the average number of cores *other* processes used meanwhile (from /proc/stat less the
command's own CPU time): a figure taken while the machine was busy is not a figure.

  python benches/load_meter.py OUT.load CMD [ARGS...]
"""
import json
import os
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    t0, b0 = time.perf_counter(), busy_ticks()
    load0 = open("/proc/loadavg").read().split()[:3]
    child = subprocess.Popen(cmd)
    _, status, usage = os.wait4(child.pid, 0)
    wall, busy = time.perf_counter() - t0, (busy_ticks() - b0) / TICK
    own = usage.ru_utime + usage.ru_stime
    with open(out, "w") as f:
        json.dump({"cmd": cmd, "wall_s": wall, "own_cores": own / wall,
                   "foreign_cores": max(0.0, (busy - own) / wall),
                   "loadavg_start": load0, "loadavg_end": open("/proc/loadavg").read().split()[:3],
                   "status": status}, f, indent=1)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
