"""``python -m gankit`` and the ``gankit`` command: a Ctrl-C while gankit's own modules are
still importing (torch, rich) ends in one line and exit code 130 too, not a traceback."""

import sys


def main() -> None:
    try:
        from gankit.cli import main as cli_main
    except KeyboardInterrupt:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a double press still exits 130
        sys.stderr.write("interrupted; every file written so far is whole.\n")
        sys.exit(130)
    cli_main()


if __name__ == "__main__":
    main()
