"""External programs, each behind a small typed runner: the one place that starts a process.

`programs.run` starts a program in its own process group with a timeout, kills the whole group
when the time runs out, and asks the kernel to kill the direct child when the service dies.
Parsers never run a program: they receive bytes and the results these runners return.
"""
