"""The Lightning half of the run folder: the callbacks and loggers that write a run as it trains
(:func:`~digitnet.record.folder.run_folder` gathers them for a Trainer), the pruning of a sweep's
trials and the progress bar that counts mini-batches.

It imports torch and Lightning, and the torch-free half it writes through (:mod:`digitnet.runs`:
the run folder's files, its lock, the event and status formats); that half never imports this one,
so the dashboard reads run folders without torch.
"""
