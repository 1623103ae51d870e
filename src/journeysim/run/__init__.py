"""Running experiments: replications on one core, all cores or a cluster (layer 4).

Replications, worker processes, checkpoints, the run-size guard, and the
result of a run as data (records, statistics, provenance). It imports the
engine and the model, never the analysis.
"""
