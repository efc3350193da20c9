"""Over-optimisation across runs (Gao, Schulman and Hilton, 2022): gold and proxy scores against KL, best-of-n beside.

`collect(run_dirs)` reads each RL run's held-out evaluations over training (metrics.jsonl: scores of the policy and of
the SFT policy on the same validation prompts, and the policy's KL to it); `figure(...)` draws, against KL and against
sqrt(KL) (Gao et al.'s axis, on which best-of-n's gold curve is close to a parabola), the gold score's gain over
the SFT policy (the curve that should rise, then fall), the reward model's gain (the proxy, which keeps rising), and
the gold win rate; a best-of-n run (lm/rl/best_of_n.py) adds its points at its analytic KL.
"""

from __future__ import annotations

import math
import os

from lm import settings
from lm.evaluation import plots
from lm.training import writers

METRICS_FILE = "metrics.jsonl"


def label(run_dir: str) -> str:
  """`"<algorithm> kl.coef=<c>"` from the run's config.json (its directory name if there is none)."""
  try:
    config = settings.load_run_config(run_dir)
  except FileNotFoundError:
    return os.path.basename(os.path.normpath(run_dir))
  oracle = " (gold reward)" if config.get("reward_from") == "gold" else ""
  return f"{config.get('algorithm', 'rl').upper()}{oracle} kl.coef={config['kl']['coef']:g}"


def collect(run_dirs: list[str]) -> dict[str, list[dict]]:
  """`{label: evaluation rows in step order}` of each run (only rows with KL and scores)."""
  out = {}
  for run_dir in run_dirs:
    if not os.path.isfile(os.path.join(run_dir, METRICS_FILE)):
      raise FileNotFoundError(f"{run_dir}: no {METRICS_FILE}; is it the --workdir of an RL run?")
    rows = [r for r in writers.read(run_dir) if r["split"] == "eval" and "kl" in r and "gold_score" in r]
    if not rows:
      raise ValueError(f"{run_dir}/{METRICS_FILE}: no held-out evaluation with a KL and a gold score yet.")
    name = label(run_dir)
    while name in out:
      name += "'"
    out[name] = sorted(rows, key=lambda r: r["step"])
  return out


def _points(rows: list[dict], key: str, x) -> list[tuple[float, float]]:
  return [(0.0, 0.0 if key.endswith("gain") else 0.5)] + [(x(r["kl"]), _value(r, key)) for r in rows]


def _value(row: dict, key: str) -> float:
  if key == "gold_gain":
    return row["gold_score"] - row["sft_gold_score"]
  if key == "rm_gain":
    return row["rm_score"] - row["sft_rm_score"]
  return row[key]


def _bon_rows(table: dict, selector: str) -> list[dict]:
  rows = []
  for n in sorted(table, key=int):
    entry, chosen = table[n], table[n].get(selector)
    if chosen is None or "sft_gold_score" not in entry:
      continue
    row = {"kl": entry["kl"], "gold_score": chosen["gold_score"], "sft_gold_score": entry["sft_gold_score"],
           "gold_win_rate": chosen["gold_win_rate"]}
    if "rm_score" in chosen and "sft_rm_score" in entry:
      row.update(rm_score=chosen["rm_score"], sft_rm_score=entry["sft_rm_score"])
    rows.append(row)
  return rows


def figure(path: str, runs: dict[str, list[dict]], best_of_n: dict | None = None, *, sqrt_kl: bool) -> None:
  """Three panels (gold gain, proxy gain, gold win rate) of every run (and best-of-n) against KL or sqrt(KL)."""
  x = math.sqrt if sqrt_kl else float
  series = dict(runs)
  if best_of_n is not None:
    for selector, name in (("rm", "best-of-n by the reward model"), ("gold", "best-of-n by gold")):
      rows = _bon_rows(best_of_n, selector)
      if rows:
        series[name] = rows
  panels = []
  for key, ylabel, reference in (("gold_gain", "gold score minus the SFT policy's", 0.0),
                                 ("rm_gain", "reward-model (proxy) score minus the SFT policy's", 0.0),
                                 ("gold_win_rate", "gold win rate against the SFT policy", 0.5)):
    curves = {name: _points(rows, key, x) for name, rows in series.items()
              if all(_has(r, key) for r in rows)}
    panels.append((ylabel, curves, reference))
  plots.trajectories(path, panels, title="Over-optimisation on held-out prompts",
                     xlabel="sqrt(KL(policy || SFT)), nats^0.5 per response" if sqrt_kl
                     else "KL(policy || SFT), nats per response")


def _has(row: dict, key: str) -> bool:
  needs = {"gold_gain": ("gold_score", "sft_gold_score"), "rm_gain": ("rm_score", "sft_rm_score")}.get(key, (key,))
  return all(k in row for k in needs)
