import sys

from skim.cli import main

sys.exit(main())
