"""The `intake` console script's entry point.

It imports the command line only when called: worker processes are spawned
(`intake.workers`), and a spawned process imports the main module, which is this script.  Had it
imported `intake.cli` at the top, every worker would load the console, the reports and all the
commands it never runs (about 10 MB each, measured, and the imports' time at every start).
"""

from __future__ import annotations


def main() -> int:
    from intake.cli import main as cli_main  # noqa: PLC0415 - see the module docstring

    return cli_main()
