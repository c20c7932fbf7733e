import sys

from nsdesign.cli.main import run

sys.exit(run())
