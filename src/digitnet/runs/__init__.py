"""The run folder, torch-free: its files and what they hold (:mod:`~digitnet.runs.files`,
:mod:`~digitnet.runs.layout`), who may write it, listing and managing runs, starting and stopping
their processes, the New-run form's model and a sweep's study.

Nothing here imports torch, Lightning, the CLI or the dashboard: the dashboard reads run folders
through it. The Lightning callbacks and loggers that write a run are :mod:`digitnet.record`.
"""
