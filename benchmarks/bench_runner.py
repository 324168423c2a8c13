"""Local model throughput: logprobs with prompt KV reuse vs naive per-answer rescoring vs grammar
generation, on the same prompts in the same run; extrapolated to the full 3,120-prompt benchmark
(goal: all 520 items x 6 variants with full 6-answer distributions in under 20 minutes here).

The last lines compare the full-run pattern with two bounds measured in the same run on the same
prompts in the same order:

* the prompt bound: evaluating each prompt (with the same KV prefix reuse) and nothing else;
* the exact-scoring bound: each prompt and then every answer token exact scoring must evaluate.
  An answer's log-probability needs the logits after each of its tokens but the last (the
  end-of-turn marker included), and answers sharing a beginning share those evaluations
  (``not like me`` and ``not like me at all``): the distinct prefixes of the answers' tokens but
  the last, i.e. the nodes of their token trie. They are evaluated right after the prompt, in the
  prompt's batch, the fewest batches any implementation could use.

Exact scoring does all the work of the second bound, so its ratio can reach 1; the prompt bound
leaves out the answers' tokens, so its ratio cannot. The run also prints the batched evaluation
speed (tokens/s) and the tokens the whole 3,120-prompt run must evaluate with perfect prefix reuse
(prompt tokens counted by tokenizing every prompt in the run's order, answer tokens per prompt).

Run: python benchmarks/bench_runner.py [N_PROMPTS]   (threads: $VP_LLAMA_THREADS, default the free
cores)
"""

from __future__ import annotations

import sys
import time

from _common import report

from vp_stats.io import datasets
from vp_stats.llm import prompts, runner
from vp_stats.llm.backends import PHRASES, Decoding
from vp_stats.llm.local import LlamaCppBackend


def answer_trie(conts: list[list[int]]) -> list[tuple[int, ...]]:
    """Token sequences exact scoring evaluates after the prompt: the distinct non-empty prefixes of
    each answer's tokens but the last (the logits after them predict the answers' next tokens).

    >>> answer_trie([[1, 2, 3], [1, 2, 4, 5], [7]])
    [(1,), (1, 2), (1, 2, 4)]
    """
    return sorted({tuple(c[:k]) for c in conts for k in range(1, len(c))})


def eval_exact_minimum(be: LlamaCppBackend, messages: list[dict]) -> tuple[int, int]:
    """Evaluate the prompt (KV prefix reuse as in scoring) and the answer-trie tokens in its batch.

    Returns (prompt tokens evaluated, answer tokens evaluated). The answers' KV cells are dropped
    afterwards, as scoring does, so the next prompt reuses this prompt's prefix.
    """
    prompt_tokens, conts = be.continuations(messages, PHRASES)
    extra = [node[-1] for node in answer_trie(conts)]
    n_keep = be._keep_prefix(prompt_tokens)
    be._decode(prompt_tokens[n_keep:] + extra, n_keep)
    be.llm._ctx.kv_cache_seq_rm(-1, len(prompt_tokens), -1)
    be.llm.n_tokens = len(prompt_tokens)
    return len(prompt_tokens) - n_keep, len(extra)


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
    t_prompt = (time.perf_counter() - t0) / len(full_msgs)
    report("bound 1: prompt evaluation only, same prompts and order (per prompt)", t_prompt)
    be.reset()
    t0 = time.perf_counter()
    counts = [eval_exact_minimum(be, m) for m in full_msgs]
    t_exact = (time.perf_counter() - t0) / len(full_msgs)
    n_prompt_tok = sum(c[0] for c in counts)
    n_answer_tok = sum(c[1] for c in counts)
    report("bound 2: prompt + every answer token exact scoring needs (per prompt)", t_exact)
    tps = (n_prompt_tok + n_answer_tok) / (t_exact * len(full_msgs))
    print(
        f"batched evaluation: {n_tok / (t_prompt * len(full_msgs)):.0f} tokens/s prompts only "
        f"({n_tok} tokens), {tps:.0f} tokens/s with the answers ({n_prompt_tok} prompt + "
        f"{n_answer_tok} answer tokens, {len(full_msgs)} prompts)"
    )
    all_msgs = sorted(
        (
            runner.make_messages(p)
            for p in prompts.item_prompts(
                datasets.load_items(), templates=datasets.load_prompt_templates()
            ).prompt
        ),
        key=be.prompt_text,
    )
    total, answers, prev = 0, 0, []
    for m in all_msgs:
        toks, conts = be.continuations(m, PHRASES)
        k = 0
        while k < min(len(prev), len(toks) - 2) and prev[k] == toks[k]:
            k += 1
        total += len(toks) - k
        answers += len(answer_trie(conts))
        prev = toks
    print(
        f"full run: {len(all_msgs)} prompts, {total} prompt tokens to evaluate with prefix reuse "
        f"and {answers} answer tokens; exact-scoring bound {(total + answers) / tps / 60:.1f} min, "
        f"measured pattern {len(all_msgs) * t_full / 60:.1f} min"
    )
    print(f"threads: {be.n_threads}")
    print(f"full run / bound 1 (prompt tokens only): {t_full / t_prompt:.2f}")
    print(
        "full run / bound 2 (prompt and answer tokens, exact scoring's work): "
        f"{t_full / t_exact:.2f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12)
