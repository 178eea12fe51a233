"""`python -m kb` and the `kb` command: kb.cli's main, with a Ctrl-C during its imports (the first
tenth of a second of any command) said as kb says one later, not as a traceback."""

import sys


def run() -> None:
    try:
        from kb.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("\nkb: interrupted\n")
        sys.exit(130)
    main()


if __name__ == "__main__":
    run()
