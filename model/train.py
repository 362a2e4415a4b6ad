"""SageMaker training entry point (also runs locally: ``python model/train.py --help``)."""

import sys

if __name__ == "__main__":
    # Imported only when run: the feature cache's worker processes (spawn) import this file as
    # their main module and must not pay for the whole training stack.
    from vs_model.training import main

    sys.exit(main())
