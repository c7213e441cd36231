"""The app: command line (cli), task dispatch (run), cost plan (plan), sweeps (sweep, slurm), W&B (tracking),
result files (results, comparison_files)."""
