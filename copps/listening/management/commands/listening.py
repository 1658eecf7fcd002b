"""`copps listening <subcommand> ...`. Each subcommand is a module with HELP, add_arguments(parser)
and handle(options, stderr); add one by adding it to SUBCOMMANDS."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

SUBCOMMANDS: dict[str, str] = {
    "classify": "copps.listening.classify.command",
}


class Command(BaseCommand):
    help = "Social media listening: classify posts (and more subcommands)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        for name, module_name in SUBCOMMANDS.items():
            module = import_module(module_name)
            module.add_arguments(sub.add_parser(name, help=module.HELP))

    def handle(self, *args: Any, **options: Any) -> None:
        module = import_module(SUBCOMMANDS[options["subcommand"]])
        module.handle(options, self.stderr)
