"""The tricks' ``--X/--no-X`` switches, made from :data:`~tui_trainer.config.tricks.TRICKS`: a new
trick gets its switch, with its help, without a line here."""

from __future__ import annotations

import inspect
from typing import Callable, Optional, TypeVar

import typer

from ..config.tricks import TRICKS, Trick

Command = TypeVar("Command", bound=Callable)


def trick_switches(after: str) -> Callable[[Command], Command]:
    """Give a typer command one ``--X/--no-X`` option per trick, after its parameter ``after``;
    the command takes them as ``**switches`` (each True, False or None when not given)."""

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command)
        params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        at = [p.name for p in params].index(after) + 1
        added = [inspect.Parameter(trick.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Optional[bool],
                                   default=_switch(trick)) for trick in TRICKS.values()]
        command.__signature__ = signature.replace(parameters=[*params[:at], *added, *params[at:]])  # what typer reads
        return command

    return decorate


def _switch(trick: Trick) -> typer.models.OptionInfo:
    return typer.Option(None, f"--{trick.flag}/--no-{trick.flag}", help=trick.switch, show_default=False,
                        rich_help_panel="Tricks")  # a panel of their own: its names fit at 80 columns


def switch_overrides(switches: dict[str, Optional[bool]]) -> list[tuple[str, bool, str]]:
    """``(key, value, label)`` overrides for the switches given: ``{"dropout": False}`` ->
    ``("tricks.dropout.enabled", False, "--no-dropout")``."""
    return [(f"tricks.{name}.enabled", value, f"--{'' if value else 'no-'}{TRICKS[name].flag}")
            for name, value in switches.items() if value is not None]
