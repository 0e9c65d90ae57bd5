"""An argparse parser whose help and errors are in French, for operators' tools.

argparse builds its texts with gettext but ships no French catalogue, so the
usage prefix, the section titles, the -h option and the common errors are
replaced here. The errors are matched on the English texts of Python 3.10's
argparse; a message that matches no pattern is printed in English.
"""

import argparse
import re
import sys

# Same exit code as argparse for command line errors.
EXIT_USAGE_ERROR = 2

_ARGPARSE_MESSAGES = (
    (
        re.compile(r"the following arguments are required: (?P<names>.+)", re.DOTALL),
        "argument(s) obligatoire(s) manquant(s) : {names}",
    ),
    (
        re.compile(r"unrecognized arguments: (?P<names>.+)", re.DOTALL),
        "argument(s) non reconnu(s) : {names}",
    ),
    (
        re.compile(r"ambiguous option: (?P<option>\S+) could match (?P<matches>.+)", re.DOTALL),
        "option {option} ambiguë, elle peut désigner {matches}",
    ),
    (
        re.compile(
            r"argument (?P<name>[^:]+): invalid choice: (?P<value>.+) \(choose from (?P<choices>.+)\)",
            re.DOTALL,
        ),
        "argument {name} : choix {value} invalide (choix possibles : {choices})",
    ),
    (
        re.compile(r"argument (?P<name>[^:]+): expected one argument", re.DOTALL),
        "argument {name} : une valeur est attendue",
    ),
    (
        re.compile(r"argument (?P<name>[^:]+): invalid (?P<type>\w+) value: (?P<value>.+)", re.DOTALL),
        "argument {name} : valeur {value} invalide",
    ),
    (
        re.compile(r"argument (?P<name>[^:]+): (?P<message>.+)", re.DOTALL),
        "argument {name} : {message}",
    ),
)


def translate_argparse_message(message: str) -> str:
    """Return the French version of an argparse error message, if known."""
    for pattern, template in _ARGPARSE_MESSAGES:
        match = pattern.fullmatch(message)
        if match is not None:
            return template.format(**match.groupdict())
    return message


class FrenchHelpFormatter(argparse.HelpFormatter):
    """Help formatter with French punctuation: « Utilisation : » and « options : »."""

    def add_usage(self, usage, actions, groups, prefix=None):
        if prefix is None:
            prefix = "Utilisation : "
        super().add_usage(usage, actions, groups, prefix)

    def start_section(self, heading):
        # argparse writes the colon right after the heading; French puts a
        # space before it.
        super().start_section(f"{heading} " if heading else heading)


class FrenchArgumentParser(argparse.ArgumentParser):
    """Argument parser whose help and errors are in French.

    Subcommand parsers created with ``add_subparsers`` use the same class.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", FrenchHelpFormatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        # argparse has no public setting for the titles of its default groups.
        self._positionals.title = "arguments positionnels"
        self._optionals.title = "options"
        self.add_argument("-h", "--help", action="help", help="afficher cette aide et quitter")

    def error(self, message: str):
        """Print the usage and the French error, then exit with code 2."""
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE_ERROR, f"Erreur : {translate_argparse_message(message)}\n")
