"""The run folder: its files, who may write it, and the Lightning callbacks and logger that write
it.

Nothing here imports the CLI or the dashboard; what the dashboard reads (layout, listing, process)
imports no torch.
"""
