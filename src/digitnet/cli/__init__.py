"""Provides the ``digitnet`` command line; see :mod:`digitnet.cli.main`."""
