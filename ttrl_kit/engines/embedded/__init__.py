"""Embedded engine: TTRL end to end on one machine, built on TRL's ``GRPOTrainer``.

    ttrl-kit train configs/demo/ttrl_add1.yaml          # SmolLM2-135M on CPU, the README demo
    ttrl-kit train configs/smoke/tiny.yaml              # tiny random model, seconds (CI)
    ttrl-kit train --resume runs/demo-add1              # after a crash / kill -9
    ttrl-kit eval --config configs/demo/ttrl_add1.yaml  # avg@k / maj@k / pass@k, no training

Flow per optimizer step: TRL samples ``ttrl.n_train`` completions for each of
``train.prompts_per_step`` prompts -> our reward function regroups them by prompt id and
calls the registry's task + estimator once per group (:mod:`.rewards`) -> TRL computes
group-normalised advantages and the GRPO loss -> metrics line, checkpoint.

Modules: ``config`` (strict YAML schema), ``models`` (all model/tokenizer loading, the
built-in offline SmolLM2 and the tiny random model), ``data`` (registry dataset -> prompts),
``rewards`` (the group reward), ``trainer`` (TRL wiring and callbacks), ``evaluate``
(avg@k/maj@k/pass@k), ``run_dir``, ``plots``, ``engine`` (the whole run).

GPU generation with vLLM: set ``generation.use_vllm: true`` (TRL's ``use_vllm``;
``generation.vllm_mode: colocate`` runs vLLM in the training process, ``server`` expects
``trl vllm-serve`` running).  Needs ``pip install vllm`` on a CUDA machine; not exercised on
the CPU machines this project is tested on.  Extra votes (``n_votes > n_train``) are still
sampled with HF ``generate``.

Limits set by TRL (see the report in benchmarks/results/demo.md):
* one process only: TRL's ``RepeatSampler`` spreads a prompt's samples over ranks, so with
  ``WORLD_SIZE > 1`` a group would be split; the engine refuses instead of gathering.
* ``kl`` is only computed by TRL when ``train.beta > 0`` (metrics show null otherwise).
* ``n_votes > n_train`` samples the extra votes outside TRL (see :mod:`.rewards`).
"""
