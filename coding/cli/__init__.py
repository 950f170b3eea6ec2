"""The command line (``python -m coding``): one module per command group over one
module of shared helpers (:mod:`coding.cli.common`). A thin shell over the engine."""
