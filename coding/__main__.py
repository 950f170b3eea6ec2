import sys

from coding.cli.main import main

sys.exit(main())
