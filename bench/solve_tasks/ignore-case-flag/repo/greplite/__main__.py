import sys

from greplite.cli import main

lines = main()
print("\n".join(lines))
sys.exit(0 if lines else 1)
