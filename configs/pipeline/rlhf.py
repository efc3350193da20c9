"""The RLHF headline figures (make reproduce-rlhf): every stage of configs/pipeline/tiny.py, with model selection on
validation, the reward model (and DPO) on pairs of the SFT policy's own samples labelled by noisy gold, the oracle,
GRPO, RLOO, DPO and best-of-n, each judged on 256 test prompts. Measured figures: README, "Headline figures".

  python -m experiments.pipeline --config=configs/pipeline/rlhf.py --workdir=runs/reproduce/rlhf

Writes DIR/summary.md and DIR/headline.json ({"value", "stderr"} per figure). Every stage resumes or is skipped
when finished, so re-running the command continues. Each stage runs in under 60 minutes on 2 CPU cores.
Selection never reads the test split: SFT by validation exact match, the reward model by validation accuracy
against the (noisy) labels, the oracle by its reward (gold) on validation prompts; the policies trained on the
learned reward model are reported at their last iteration (no gold is used to pick them).
"""

import os

from lm import settings

RL_STAGES = ("ppo", "ppo_gold", "grpo", "rloo")


def get_config(preset: str = "tiny"):
  c = settings.load_config(os.path.join(os.path.dirname(__file__), f"tiny.py:{preset}"))
  c.stages = "pretrain,sft,pairs,reward,bon,ppo,ppo_gold,grpo,rloo,dpo"
  # SFT: longer, the best validation exact match kept (it peaks and wobbles: 0.095 at step 1000, 0.035 at 1200).
  c.sft.train.update(steps=1200, eval_every=200, checkpoint_every=200, select_metric="exact_match")
  # The reward model's pairs: the SFT policy's own samples (4 per prompt, 3 pairs at most) on 4000 train prompts,
  # labelled by gold with the world's 10% noise, and 8000 world pairs for the styles SFT never writes. A reward model
  # trained on world pairs alone agrees with gold on 0.60 of the policy's pairs (0.77 on world pairs).
  c.pairs.pairs.update(prompts=4000, per_prompt=3, world_pairs=8000)
  # Reward model: several epochs of pairs, the best validation accuracy kept, stopped after 5 evaluations without one.
  c.reward.train.update(steps=1500, eval_every=100, checkpoint_every=100, select_metric="rm_accuracy",
                        select_patience=5)
  for name in RL_STAGES:
    c[name].heldout.update(prompts=128, test_prompts=256)
  c.ppo_gold.train.select_metric = "gold_win_rate"  # its reward is gold: selecting by it reads no extra signal
  c.dpo.heldout.update(prompts=128, test_prompts=256)
  c.bon.bon.update(prompts=256, n=16, ns="1,2,4,8,16", pass_k="1,4,16")
  return c
