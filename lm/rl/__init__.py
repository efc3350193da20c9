"""Reinforcement learning from a reward model: rollouts, advantages, the KL controller, the RLHF run."""
