"""Local model throughput: logprobs with prompt KV reuse vs naive per-answer rescoring vs grammar
generation, on the same prompts in the same run; extrapolated to the full 3,120-prompt benchmark
(goal: all 520 items x 6 variants with full 6-answer distributions in under 20 minutes here).

The last line compares the full-run pattern with its prompt-evaluation bound, measured in the same
run on the same prompts in the same order: evaluating each prompt (with the same KV prefix reuse)
and
nothing else, which any way of scoring the answers must at least do. The run also prints the batched
prompt-evaluation speed (tokens/s), the prompt tokens the whole 3,120-prompt run must evaluate with
perfect prefix reuse (counted by tokenizing every prompt in the run's order), and the bound that
gives.

Run: python benchmarks/bench_runner.py [N_PROMPTS]   (threads: $VP_LLAMA_THREADS, default the free
cores)
"""

from __future__ import annotations

import sys
import time

from _common import report

from vp_stats.io import datasets
from vp_stats.llm import prompts, runner
from vp_stats.llm.backends import Decoding
from vp_stats.llm.local import LlamaCppBackend


def main(n: int = 12):
    items = datasets.load_items().sample(n=max(1, n // 2), random_state=0)
    jobs = prompts.item_prompts(
        items, variants=["v1", "v3_reversed"], templates=datasets.load_prompt_templates()
    ).head(n)
    be = LlamaCppBackend()
    msgs = [runner.make_messages(p) for p in jobs.prompt]
    be.score_phrases(msgs[0])  # warm-up

    def timed(fn):
        t0 = time.perf_counter()
        for m in msgs:
            fn(m)
        return (time.perf_counter() - t0) / len(msgs)

    t_naive = timed(lambda m: be.score_phrases(m, share_prefix=False))
    t_shared = timed(lambda m: be.score_phrases(m))
    t_grammar = timed(lambda m: be.generate(m, Decoding(max_tokens=8), grammar=True))
    report("naive: prompt re-evaluated for each of 6 answers (per prompt)", t_naive)
    report("logprobs with prompt KV reuse (per prompt)", t_shared, t_naive)
    report("grammar-constrained generation, one answer (per prompt)", t_grammar)
    print(
        f"prompts per second, logprobs with reuse: {1 / t_shared:.2f}; grammar: {1 / t_grammar:.2f}"
    )
    # the full run's access pattern: every variant of whole queries, sent in prompt order so that a
    # query's 5 responses and a wording's reversed order reuse the evaluated prefix
    items = datasets.load_items()
    portraits = items.portrait_id.drop_duplicates().sample(n=2, random_state=1)  # noqa: F841
    full_items = datasets.load_items().query("portrait_id in @portraits")
    full_jobs = prompts.item_prompts(full_items, templates=datasets.load_prompt_templates())
    t0 = time.perf_counter()
    runner.run(full_jobs, be, mode="logprobs", progress=False)
    t_full = (time.perf_counter() - t0) / len(full_jobs)
    report(
        f"full-run pattern: {len(full_jobs)} prompts of 2 whole queries (per prompt)",
        t_full,
        t_naive,
    )
    print(
        f"full benchmark (520 items x 6 variants, logprobs): about {3120 * t_full / 60:.1f} min   "
        "goal: < 20 min"
    )
    full_msgs = sorted(
        (runner.make_messages(p) for p in full_jobs.prompt), key=be.prompt_text
    )  # the run's order
    be.reset()
    t0 = time.perf_counter()
    n_tok = sum(be.eval_prompt(m) for m in full_msgs)
    t_bound = (time.perf_counter() - t0) / len(full_msgs)
    report("prompt evaluation only, same prompts and order (per prompt)", t_bound)
    tps = n_tok / (t_bound * len(full_msgs))
    print(
        f"batched prompt evaluation: {tps:.0f} tokens/s ({n_tok} tokens, {len(full_msgs)} prompts)"
    )
    all_prompts = sorted(
        be.prompt_text(runner.make_messages(p))
        for p in prompts.item_prompts(
            datasets.load_items(), templates=datasets.load_prompt_templates()
        ).prompt
    )
    total, prev = 0, []
    for text in all_prompts:
        toks = be._tokens(text)
        k = 0
        while k < min(len(prev), len(toks) - 2) and prev[k] == toks[k]:
            k += 1
        total += len(toks) - k
        prev = toks
    print(
        f"full run: {len(all_prompts)} prompts, {total} prompt tokens to evaluate with prefix "
        "reuse; "
        f"bound {total / tps / 60:.1f} min, measured pattern {len(all_prompts) * t_full / 60:.1f} "
        "min"
    )
    print(f"threads: {be.n_threads}")
    print(f"full run / prompt-eval bound: {t_full / t_bound:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12)
