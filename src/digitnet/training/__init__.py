"""The training API: :func:`digitnet.train` (:mod:`digitnet.training.api`) and the steps of a fit
that ``digitnet fit`` takes too (:mod:`digitnet.training.steps`). Between the recorder and the
command line: it builds the model, the data and the Trainer, and never imports Textual.
"""
