"""The command line: python3 -m greplite [-i] [-n] PATTERN FILE."""

import argparse
from typing import List, Optional

from greplite.search import find_lines


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="greplite")
    parser.add_argument("-i", "--ignore-case", action="store_true")
    parser.add_argument("-n", "--line-number", action="store_true")
    parser.add_argument("pattern")
    parser.add_argument("file")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[str]:
    """The lines to print."""
    args = parse_args(argv)
    with open(args.file, encoding="utf-8") as handle:
        matches = find_lines(handle, args.pattern, ignore_case=args.ignore_case)
    if args.line_number:
        return [f"{number}:{line}" for number, line in matches]
    return [line for _, line in matches]
