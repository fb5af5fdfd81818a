"""The ``idp`` command as an operator runs it, against the test's application (its settings,
clock and database): the entry point itself, not the commands one by one."""

from __future__ import annotations

import click
from click.testing import Result

from idp.cli import main


def run(app, *args: str) -> Result:
    """``idp ARGS``; ``result.stdout`` and ``result.stderr`` apart, ``result.output`` both as a terminal shows them."""
    return app.test_cli_runner().invoke(main, list(args))


def leaf_commands(commands, path: tuple[str, ...] = ()) -> dict[str, click.Command]:
    """``{"clients add": <command>, "serve": <command>, ...}`` for click commands and groups."""
    found = {}
    for command in commands:
        if isinstance(command, click.Group):
            found |= leaf_commands(command.commands.values(), (*path, command.name))
        else:
            found[" ".join((*path, command.name))] = command
    return found
