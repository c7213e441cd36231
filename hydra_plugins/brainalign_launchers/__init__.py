"""brainalign's Hydra launchers (found by Hydra's plugin scan of the `hydra_plugins` namespace).

- launchers.ThreadCappedJoblibLauncher (`hydra/launcher=joblib`): the joblib launcher with one
  BLAS/OpenMP thread per job, so parallel jobs never oversubscribe the cores.
- launchers.PerModelSlurmLauncher (`hydra/launcher=slurm`): the submitit SLURM launcher, but each job
  asks for the resources of its own model (`model.resources` in conf/model/*.yaml).
"""
