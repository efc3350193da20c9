"""Transfer and few-shot headline figures in one command: pretraining, transfer studies, probes, in-context tables.

  python -m experiments.transfer_suite --config=configs/transfer/headline.py --workdir=DIR [--config.only=...]

Finished pieces are skipped and interrupted ones resume; ends with DIR/headline.json and DIR/summary.md.
"""

from __future__ import annotations

from experiments import cli
from lm.training import transfer_suite

_CONFIG, _WORKDIR = cli.define_run_flags("configs/transfer/headline.py")


def main(argv):
  del argv
  with cli.reported():
    transfer_suite.run(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
  cli.run(main)
