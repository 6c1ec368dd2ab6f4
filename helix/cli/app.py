"""The root ``helix`` command, its consoles and error handling.

Every command builds :class:`~helix.settings.Settings` once and passes it down.  Errors from the
:mod:`helix.errors` tree become a one-line message on stderr and a non-zero exit code.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from helix.errors import ConfigError, HelixError
from helix.settings import Settings, load_settings

app = typer.Typer(
    name="helix",
    help="Helix: the event-sourced trading, research and fund platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


def group(name: str, help: str) -> typer.Typer:
    sub = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def every_seconds(text: str) -> float:
    """``"24h"`` -> 86400.0; units s, m, h, d.

    Raises:
        ConfigError: not a positive number followed by one of those units.
    """
    try:
        value, unit = float(text[:-1]), _UNITS[text[-1:]]
    except (ValueError, KeyError):
        raise ConfigError(
            f"--every {text!r}: give a number and a unit, e.g. 24h, 30m, 1d"
        ) from None
    if value <= 0:
        raise ConfigError(f"--every {text!r} must be positive")
    return value * unit


def settings() -> Settings:
    return load_settings()


def run_app() -> None:
    """Run the app, mapping Helix errors to messages and exit codes."""
    try:
        app()
    except HelixError as exc:
        err.print(f"[red]error:[/] {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
