"""What every ``finops-forecast`` command shares: how a user error is printed."""
from __future__ import annotations

import typer


def fail(exc: Exception | str, code: int = 2) -> None:
    """Print a user error as one red line on stderr (no traceback) and exit with ``code``.

    The message is escaped, so units in brackets such as ``[USD/h]`` print as written.
    """
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc).replace(chr(10), ' '))}", soft_wrap=True,
                               highlight=False)
    raise typer.Exit(code)
