"""`photoface` and `python -m photoface`: the window when run bare, the CLI with a command."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from photoface.app import main as gui_main

        return gui_main()
    from photoface.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    import multiprocessing

    # The packaged app starts its scan workers by running itself again (`spawn`): this runs
    # such a worker instead of the app (nothing, unless frozen).
    multiprocessing.freeze_support()
    sys.exit(main())
