import sys

from nsdesign.cli.main import main

sys.exit(main())
