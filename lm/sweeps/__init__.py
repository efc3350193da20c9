"""Sweeps: many runs of one config over a grid of overrides, on SLURM (job arrays) or on this machine."""
