"""Confirmatory factor analysis (CFA) of an item set: a lavaan-syntax model fitted by ML.

:func:`cfa` fits a measurement model written in lavaan syntax (``Agree =~ A1 +
A2 + A3``) to a respondents x items DataFrame with semopy, and returns tidy
tables of the quantities ``lavaan::cfa(model, data, estimator = "ML")``
reports. The test suite checks them against lavaan on the ``bfi`` data
(psychTools) and a Value Portrait item set.

Statistics
----------
- Estimates: maximum likelihood under multivariate normality, minimising
  :math:`F = \\ln|\\Sigma| - \\ln|S| + \\operatorname{tr}(S\\Sigma^{-1}) - p` with
  :math:`S` the covariance matrix of the complete respondents divided by ``N``
  (Joreskog 1969; lavaan's ``likelihood = "normal"``; semopy's ``MLW`` objective on its biased
  covariance is the same function). The first loading of each factor is fixed
  to 1, factor variances and covariances and residual variances are free
  (lavaan's ``cfa`` defaults, also semopy's). Standard errors from the
  expected information (lavaan ``se = "standard"``), z and two-sided normal p.
- Standardised loadings: lavaan's ``std.all``,
  ``lambda * sd(factor) / sd(item)`` with model-implied standard deviations;
  factor correlations likewise.
- Fit (lavaan ``fitMeasures``): :math:`\\chi^2 = N F` on
  :math:`df = p(p + 1)/2 - q` (``chisq``, ``df``, ``pvalue``); the baseline
  (independence) model :math:`\\chi^2_b = N(\\sum_i \\ln s_{ii} - \\ln|S|)` on
  :math:`p(p - 1)/2` df; and (Bentler 1990; Tucker & Lewis 1973; Steiger 1990)

  .. math::

     \\mathrm{CFI} = 1 - \\frac{\\max(\\chi^2 - df, 0)}{\\max(\\chi^2 - df, \\chi^2_b - df_b, 0)},
     \\quad
     \\mathrm{TLI} = \\frac{\\chi^2_b/df_b - \\chi^2/df}{\\chi^2_b/df_b - 1},
     \\quad
     \\mathrm{RMSEA} = \\sqrt{\\frac{\\max(\\chi^2 - df, 0)}{df\\,N}}

  with the 90% interval from the noncentral chi-square (Browne & Cudeck 1993:
  the noncentrality whose ``P(chi2 <= observed)`` is 0.95 and 0.05) and the
  test of close fit ``P(RMSEA <= 0.05)`` (``rmsea.pvalue``); ``SRMR`` as
  lavaan's ``srmr`` (Bentler's): the root mean square of the residuals
  :math:`(s_{ij} - \\sigma_{ij}) / \\sqrt{s_{ii} s_{jj}}` over the :math:`p(p + 1)/2` lower
  triangle elements, diagonal included.

Several starts, and when a solution is trusted
-----------------------------------------------
The ML discrepancy can have more than one local minimum, and one start does
not find the best: on 8 Value Portrait items rated by 40 participants
(``tests/stats/test_cfa.py``) a one-factor model stops at a proper local
optimum (chi2 46.40, CFI 0.47) from semopy's start, and so does lavaan with the
items in that order (it reports ``converged`` and passes ``post.check``); the
best solution has chi2 40.37 (CFI 0.59, another loading pattern), which lavaan
reaches from the other two item orders tested. :func:`cfa` therefore fits from
``n_starts`` points (default 10): semopy's own start; a start from the
standardised loadings of a one-factor ML EFA of each factor's items (like
lavaan's factor-analytic ``fabin3`` starts); and random starts around it,
drawn with ``seed`` (each standardised loading times U(0.6, 1.4), its sign
reversed with probability 0.1, random positive definite factor correlations).
Each solution is checked:

- ``converged``: the optimiser stopped successfully and the gradient of ``F``
  is below 1e-3 in every free parameter (lavaan's ``optim.dx.tol``; at a
  variance held at its bound 0 only a gradient pointing outward counts);
- ``proper``: every residual variance and every factor variance above 0
  (semopy bounds them at 0; lavaan lets them go negative, a Heywood case) and
  the factor covariance matrix positive definite.

The solution returned is the converged proper one of lowest chi2 (else the
converged one, else the lowest). ``best_of_starts`` says whether no start
found a lower chi2 (a lower one can only be improper or unconverged),
``n_starts_at_best`` how many starts reached the returned chi2 (within 1e-3);
``status`` is ``"ok"`` or names each problem, and any problem is also a
:class:`CFAWarning`. One start (``n_starts=1``) is never ``"ok"``: its status
says that a better optimum is not ruled out (``converged`` and ``proper`` still
describe the optimum it reached), since only several starts can reveal one.
The table of every start is ``CFAResult.starts``.

Where semopy differs from lavaan
--------------------------------
- ``semopy.calc_stats`` computes ``RMSEA = sqrt((chi2/df - 1) / (N - 1))``
  (N - 1, where lavaan's normal likelihood uses N) and gives neither the
  RMSEA interval nor SRMR. Its chi2, CFI and TLI use ``N F`` as lavaan does. All
  fit indices here are computed from the fitted covariance matrix by lavaan's
  formulas above, so they agree with lavaan (to about 1e-6 on ``bfi``).
- semopy's default SLSQP tolerance (``ftol = 1e-6``) stops early (chi2 off by
  about 0.003 on ``bfi``); the fit here uses ``ftol = 1e-12``.
- Syntax: semopy reads one statement per line. :func:`parse_model` also
  accepts lavaan's ``;`` separators and statements continued on the next line
  (a line ending in or starting with ``+``, or ending in an operator).
  Unsupported, and refused with a message: intercepts (``~ 1``), ``NA*``
  (semopy reads it as a label and still fixes another loading), defined
  parameters (``:=``) and semopy's own commands; ``start()`` and other
  modifier functions are syntax errors.
- Missing data: respondents with a missing answer to a model item are left out
  (lavaan's default ``missing = "listwise"`` for ML).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from vp_stats.stats import cfa
>>> rng = np.random.default_rng(0)
>>> lam = np.array([[.8, 0], [.7, 0], [.6, 0], [0, .8], [0, .7], [0, .6]])
>>> x = pd.DataFrame(rng.standard_normal((500, 2)) @ lam.T + .6 * rng.standard_normal((500, 6)),
...                  columns=list("abcdef"))
>>> res = cfa.cfa(x, "F =~ a + b + c\\nG =~ d + e + f")
>>> res.fit[["chi2", "df", "cfi", "rmsea", "srmr"]].round(3).to_dict("records")
[{'chi2': 9.416, 'df': 8, 'cfi': 0.998, 'rmsea': 0.019, 'srmr': 0.022}]
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from vp_stats.errors import DataFormatError
from vp_stats.stats.factor import MIN_EIGENVALUE, item_frame
from vp_stats.stats.factor_engine import one_factor_loadings
from vp_stats.stats.resampling import single_threaded_blas

__all__ = [
    "OPERATORS",
    "ModelSpec",
    "CFAResult",
    "CFAWarning",
    "parse_model",
    "cfa",
    "fit_indices",
]

OPERATORS = ("=~", "~~", "~")
RMSEA_CI_LEVEL = 0.90  # lavaan's rmsea.ci.level
RMSEA_CLOSE = 0.05  # lavaan's rmsea.h0.closefit
SEMOPY_OPTIONS = {"ftol": 1e-12, "maxiter": 10000}
N_STARTS = 10  # starting points of the ML fit: semopy's start, then seeded random starts
SAME_OPTIMUM_CHI2 = 1e-3  # two starts reached the same optimum: chi2 within this
GRADIENT_TOL = 1e-3  # lavaan's optim.dx.tol (its objective is F / 2: ours is stricter)
BOUND_TOL = 1e-6  # a variance below this share of the item's variance is at semopy's bound 0
_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


# --------------------------------------------------------------------------- the model


@dataclass
class ModelSpec:
    """A parsed model: its statements (semopy syntax) and variables.

    Attributes
    ----------
    description : str
        One statement per line, as semopy reads it.
    factors : dict
        Factor -> its indicators (``=~``), in model order.
    observed : list
        The variables that are not factors (must be items of the data), in model order.
    lines : dict
        Variable -> the line of the model file where it first appears.
    """

    description: str
    factors: dict
    observed: list
    lines: dict


def _statements(text: str) -> list[tuple[int, str]]:
    """Split lavaan syntax into (first line number, statement): comments, ``;``, continuations."""
    pieces: list[tuple[int, str]] = []
    for no, raw in enumerate(text.splitlines(), start=1):
        line = re.split(r"[#!]", raw, maxsplit=1)[0]
        for part in line.split(";"):
            part = part.strip()
            if part:
                pieces.append((no, part))
    out: list[tuple[int, str]] = []
    for no, part in pieces:
        if out and (part.startswith("+") or re.search(r"(\+|=~|~~|~|\*)$", out[-1][1])):
            out[-1] = (out[-1][0], f"{out[-1][1]} {part}")
        else:
            out.append((no, part))
    return out


def parse_model(model: str, *, source: str = "model") -> ModelSpec:
    """Parse a lavaan-syntax model (the subset semopy fits) and list its factors and items.

    Parameters
    ----------
    model : str
        Statements ``factor =~ item + item``, ``a ~~ b`` (covariance),
        ``y ~ x`` (regression); modifiers ``0.5*item`` (fixed value) and
        ``label*item`` (equal labels, equal parameters); ``#`` comments.
    source : str
        Name of the model in error messages (e.g. its file).

    Raises
    ------
    DataFormatError
        Naming the line: a statement that cannot be parsed, an unsupported
        operator or modifier, or an empty model.

    Examples
    --------
    >>> spec = parse_model("F =~ a + b +\\n     c  # three items\\nG =~ d + e + f; F ~~ G")
    >>> spec.factors, spec.observed
    ({'F': ['a', 'b', 'c'], 'G': ['d', 'e', 'f']}, ['a', 'b', 'c', 'd', 'e', 'f'])
    >>> try:
    ...     parse_model("F =~ a + b\\nG => c")
    ... except DataFormatError as exc:
    ...     print(exc)
    model: record line 2: cannot parse 'G => c': expected 'lhs =~ rhs', 'lhs ~~ rhs' or 'lhs ~ rhs'
    """
    from semopy.parser import parse_desc

    if not isinstance(model, str):
        raise DataFormatError(
            source, None, None, f"expected the model as text, got {type(model).__name__}"
        )
    stmts = _statements(model)
    if not stmts:
        raise DataFormatError(
            source,
            None,
            None,
            "the model is empty: write one statement per line, e.g. 'F =~ item1 + item2 + item3'",
        )
    factors: dict[str, list[str]] = {}
    names: dict[str, int] = {}
    parsed = []
    for no, st in stmts:
        where = f"line {no}"
        if ":=" in st or "==" in st or re.search(r"(?<![=~<>])[<>]", st):
            raise DataFormatError(
                source,
                where,
                None,
                f"{st!r}: defined parameters and constraints (:=, ==, <, >) are not supported",
            )
        op = next((o for o in OPERATORS if o in st), None)
        if op is None:
            raise DataFormatError(
                source,
                where,
                None,
                f"cannot parse {st!r}: expected 'lhs =~ rhs', 'lhs ~~ rhs' or 'lhs ~ rhs'",
            )
        try:
            effects, operations = parse_desc(st)
        except SyntaxError:
            raise DataFormatError(source, where, None, f"cannot parse {st!r}") from None
        if operations or set(effects) - set(OPERATORS) or not effects:
            raise DataFormatError(
                source,
                where,
                None,
                f"cannot parse {st!r}: expected 'lhs =~ rhs', 'lhs ~~ rhs' or 'lhs ~ rhs'",
            )
        for op_, lhs_map in effects.items():
            for lhs, rhs_map in lhs_map.items():
                for var in (lhs, *rhs_map):
                    if var == "1":
                        raise DataFormatError(
                            source, where, None, f"{st!r}: intercepts ('~ 1') are not supported"
                        )
                    if not _NAME.match(var):
                        raise DataFormatError(
                            source,
                            where,
                            None,
                            f"cannot parse {st!r}: {var!r} is not a variable name",
                        )
                for mod in rhs_map.values():
                    if (
                        mod is not None
                        and not (_NUMBER.match(mod) or _NAME.match(mod))
                        or mod == "NA"
                    ):
                        raise DataFormatError(
                            source,
                            where,
                            None,
                            f"{st!r}: modifier {mod!r}* is not supported "
                            "(use a number to fix a parameter or a name to label it)",
                        )
                if op_ == "=~":
                    factors.setdefault(lhs, [])
                    factors[lhs] += [v for v in rhs_map if v not in factors[lhs]]
                for var in (lhs, *rhs_map):
                    names.setdefault(var, no)
        parsed.append(st)
    if not factors:
        raise DataFormatError(
            source,
            None,
            None,
            "the model defines no factor: a CFA needs at least one 'factor =~ items' statement",
        )
    observed = [v for v in names if v not in factors]
    return ModelSpec(description="\n".join(parsed), factors=factors, observed=observed, lines=names)


# --------------------------------------------------------------------------- fit indices


def _rmsea_ci(chi2: float, df: int, n: int, level: float = RMSEA_CI_LEVEL) -> tuple[float, float]:
    """lavaan's RMSEA interval, ``sqrt(lambda / (N df))``.

    ``lambda``: the noncentralities with P(X <= chi2) = 1 - a/2 and a/2.
    """
    if df < 1:
        return np.nan, np.nan
    hi_p, lo_p = 1 - (1 - level) / 2, (1 - level) / 2

    def cdf(lam):
        return stats.ncx2.cdf(chi2, df, lam) if lam > 0 else stats.chi2.cdf(chi2, df)

    if cdf(0.0) < hi_p:
        lower = 0.0
    else:
        lower = np.sqrt(
            optimize.brentq(lambda lam: cdf(lam) - hi_p, 0.0, chi2, xtol=1e-12) / (n * df)
        )
    top = max(n, 4 * chi2)
    if cdf(top) > lo_p or cdf(0.0) < lo_p:
        upper = 0.0
    else:
        upper = np.sqrt(
            optimize.brentq(lambda lam: cdf(lam) - lo_p, 0.0, top, xtol=1e-12) / (n * df)
        )
    return float(lower), float(upper)


def fit_indices(s: np.ndarray, sigma: np.ndarray, n: int, n_parameters: int) -> dict:
    """lavaan's ML fit measures from the sample (divisor N) and model-implied covariance matrices.

    Parameters
    ----------
    s, sigma : ndarray (p, p)
        Sample covariance matrix (divided by ``n``) and fitted covariance matrix.
    n : int
        Respondents.
    n_parameters : int
        Free parameters of the model.

    Returns
    -------
    dict
        ``n_obs, chi2, df, p_value, cfi, tli, rmsea, rmsea_ci_low, rmsea_ci_high,
        rmsea_p_close, srmr, baseline_chi2, baseline_df`` (formulas in the module notes).

    Examples
    --------
    >>> s = np.array([[1.0, .3], [.3, 1.0]])
    >>> f = fit_indices(s, np.eye(2), n=101, n_parameters=2)
    >>> round(f["chi2"], 4), f["df"], round(f["srmr"], 4)
    (9.5254, 1, 0.1732)
    """
    p = s.shape[0]
    _, ld_sigma = np.linalg.slogdet(sigma)
    _, ld_s = np.linalg.slogdet(s)
    f_ml = max(ld_sigma - ld_s + np.trace(s @ np.linalg.inv(sigma)) - p, 0.0)
    chi2 = n * f_ml
    df = p * (p + 1) // 2 - n_parameters
    chi2_b = n * (np.sum(np.log(np.diag(s))) - ld_s)
    df_b = p * (p - 1) // 2
    t1, t2 = max(chi2 - df, 0.0), max(chi2 - df, chi2_b - df_b, 0.0)
    cfi = 1.0 if np.isclose(t1, 0.0) and np.isclose(t2, 0.0) else 1.0 - t1 / t2
    if df > 0:
        u1, u2 = chi2_b / df_b - chi2 / df, chi2_b / df_b - 1.0
        tli = 1.0 if (u1 < 0 and u2 < 0) else u1 / u2
        rmsea = float(np.sqrt(max(chi2 - df, 0.0) / (df * n)))
        p_close = float(stats.ncx2.sf(chi2, df, n * df * RMSEA_CLOSE**2))
        pval = float(stats.chi2.sf(chi2, df))
    else:
        tli, rmsea, p_close, pval = 1.0, 0.0, np.nan, np.nan
    lo, hi = _rmsea_ci(chi2, df, n)
    d = 1.0 / np.sqrt(np.diag(s))
    resid = (s - sigma) * np.outer(d, d)
    srmr = float(np.sqrt(np.mean(resid[np.tril_indices(p)] ** 2)))
    return {
        "n_obs": int(n),
        "chi2": float(chi2),
        "df": int(df),
        "p_value": pval,
        "cfi": float(cfi),
        "tli": float(tli),
        "rmsea": rmsea,
        "rmsea_ci_low": lo,
        "rmsea_ci_high": hi,
        "rmsea_p_close": p_close,
        "srmr": srmr,
        "baseline_chi2": float(chi2_b),
        "baseline_df": int(df_b),
    }


# --------------------------------------------------------------------------- fitting


@dataclass
class CFAResult:
    """A fitted CFA, as tidy tables (see :func:`cfa`).

    Attributes
    ----------
    fit : DataFrame
        One row: ``n_obs, chi2, df, p_value, cfi, tli, rmsea, rmsea_ci_low,
        rmsea_ci_high, rmsea_p_close, srmr, baseline_chi2, baseline_df``, then how
        far the solution can be trusted (see :func:`cfa`): ``converged``,
        ``proper``, ``best_of_starts``, ``n_starts``, ``n_starts_at_best``,
        ``chi2_worst_start`` and ``status`` (``"ok"`` or what is wrong).
    loadings : DataFrame
        ``factor, item, estimate, se, z, p_value, std_all`` (the fixed first
        loadings have no standard error).
    factor_correlations : DataFrame
        ``factor_1, factor_2, covariance, r`` (``r`` is ``std.all``).
    estimates : DataFrame
        Every parameter in lavaan's orientation: ``lhs, op, rhs, estimate, se, z, p_value,
        std_all``.
    spec : ModelSpec
        The parsed model.
    model : semopy.Model
        The fitted semopy model (at the chosen solution).
    starts : DataFrame
        One row per starting point: ``start`` (0 is semopy's own start),
        ``chi2``, ``converged``, ``proper``, ``max_gradient`` and ``chosen``.
    """

    fit: pd.DataFrame
    loadings: pd.DataFrame
    factor_correlations: pd.DataFrame
    estimates: pd.DataFrame
    spec: ModelSpec
    model: object
    starts: pd.DataFrame | None = None


# --------------------------------------------------------------------------- several starts


class CFAWarning(UserWarning):
    """A CFA solution that is improper, not converged, or not the best one found."""


def _factor_loadings_efa(mod, spec: ModelSpec, s: np.ndarray) -> dict:
    """(item, factor) -> standardised loading of a one-factor ML EFA of the factor's items.

    The start of the fit (as lavaan's non-iterative ``fabin3`` starts, a
    factor-analytic estimate for each factor alone); two-item factors get
    ``sqrt(|r|)`` signed as ``r``, one-item factors 0.7.
    """
    obs = list(mod.vars["observed"])
    out = {}
    for f, its in spec.factors.items():
        its = [i for i in its if i in obs]
        idx = [obs.index(i) for i in its]
        sub = s[np.ix_(idx, idx)]
        d = 1 / np.sqrt(np.diag(sub))
        r = sub * np.outer(d, d)
        if len(its) >= 3:
            lam = one_factor_loadings(r, "ml")[0]
        elif len(its) == 2:
            lam = np.sqrt(abs(r[0, 1])) * np.array([1.0, np.sign(r[0, 1]) or 1.0])
        else:
            lam = np.full(len(its), 0.7)
        out.update({(i, f): float(v) for i, v in zip(its, lam, strict=True)})
    return out


def _start(mod, spec: ModelSpec, s: np.ndarray, efa: dict, rng=None) -> np.ndarray:
    """A starting point from standardised loadings: the EFA's, or (``rng``) random around them.

    Random starts multiply each standardised loading by U(0.6, 1.4), reverse its
    sign with probability 0.1 and draw the factor correlations at random
    (positive definite); factor variances follow from the marker's loading,
    residual variances from what the loadings leave (clipped to [0.1, 0.9] of
    the item's variance). Parameters that are not loadings, factor
    (co)variances or residual variances keep semopy's start.
    """
    obs = list(mod.vars["observed"])
    var = np.diag(s)
    lv = list(mod.names_psi[0])
    facs = [f for f in spec.factors if f in lv]
    std = {}
    for key, v in efa.items():
        if rng is not None:
            v = v * rng.uniform(0.6, 1.4) * (-1.0 if rng.uniform() < 0.1 else 1.0)
        std[key] = float(np.clip(v, -0.95, 0.95))
    psi, marker_std = {}, {}
    for f in facs:
        marker = mod.first_manifs.get(f)
        if (marker, f) in std:
            m = std[(marker, f)]
            m = m if abs(m) >= 0.1 else (0.1 if m >= 0 else -0.1)
            marker_std[f] = m
            psi[f] = m**2 * var[obs.index(marker)]
    if rng is None:
        c = np.eye(len(facs))
    else:
        w = rng.standard_normal((len(facs), len(facs)))
        c = w @ w.T + len(facs) * np.eye(len(facs))
        c = c / np.sqrt(np.outer(np.diag(c), np.diag(c)))
    explained = np.zeros(len(obs))
    start = mod.param_vals.astype(float).copy()
    where = {}
    for k, par in enumerate(p for p in mod.parameters.values() if p.active):
        loc = par.locations[0]
        i, j = loc.indices
        if loc.matrix is mod.mx_lambda:
            item, f = mod.names_lambda[0][i], mod.names_lambda[1][j]
            if (item, f) in std and f in psi:
                o = obs.index(item)
                start[k] = (
                    std[(item, f)] / marker_std[f] * np.sqrt(var[o] / psi[f]) * abs(marker_std[f])
                )
                explained[o] += std[(item, f)] ** 2
        elif loc.matrix is mod.mx_psi:
            a, b = mod.names_psi[0][i], mod.names_psi[1][j]
            if a in psi and b in psi:
                start[k] = (
                    psi[a] if a == b else c[facs.index(a), facs.index(b)] * np.sqrt(psi[a] * psi[b])
                )
        elif loc.matrix is mod.mx_theta and i == j:
            where[k] = obs.index(mod.names_theta[0][i])
    for f, m in marker_std.items():
        explained[obs.index(mod.first_manifs[f])] += m**2
    for k, o in where.items():  # residual variances: what the loadings leave of each variance
        start[k] = var[o] * float(np.clip(1 - explained[o], 0.1, 0.9))
    return start


def _check_solution(mod, spec: ModelSpec, x: np.ndarray, success: bool) -> dict:
    """Is ``x`` a proper KKT point: residual and factor variances positive, Psi PD, gradient ~0."""
    mod.update_matrices(x)
    obs = list(mod.vars["observed"])
    var = np.diag(mod.mx_cov)
    problems = []
    theta = np.diag(mod.mx_theta)
    rows = list(mod.names_theta[0])
    for item in obs:
        if item in rows and theta[rows.index(item)] <= BOUND_TOL * var[obs.index(item)]:
            problems.append(f"residual variance of {item!r} at 0 (Heywood case)")
    lv = list(mod.names_psi[0])
    facs = [f for f in spec.factors if f in lv]
    if facs:
        idx = [lv.index(f) for f in facs]
        psi = np.asarray(mod.mx_psi, dtype=float)[np.ix_(idx, idx)]
        dg = np.diag(psi)
        flat = [f for f, v in zip(facs, dg, strict=True) if not v > BOUND_TOL * var.mean()]
        if flat:
            problems.append(f"variance of factor {flat[0]!r} at 0")
        else:
            d = 1 / np.sqrt(dg)
            if not np.linalg.eigvalsh(psi * np.outer(d, d)).min() > BOUND_TOL:
                problems.append(
                    "factor covariance matrix not positive definite (a factor correlation >= 1)"
                )
    grad = np.asarray(mod.grad_mlw(x), dtype=float)
    active = [p for p in mod.parameters.values() if p.active]
    lower = np.array([p.bound[0] if p.bound[0] is not None else -np.inf for p in active])
    at_bound = np.isfinite(lower) & (x - lower <= BOUND_TOL * max(float(var.mean()), 1e-300))
    # at a lower bound the Kuhn-Tucker condition is a gradient >= 0 (the fit improves outward)
    g = np.where(at_bound, np.minimum(grad, 0.0), grad)
    max_grad = float(np.max(np.abs(g))) if g.size else 0.0
    converged = bool(success) and bool(np.all(np.isfinite(x))) and max_grad < GRADIENT_TOL
    return {
        "converged": converged,
        "proper": not problems,
        "max_gradient": max_grad,
        "problems": problems,
    }


def _fit_from_starts(mod, spec: ModelSpec, n: int, n_starts: int, seed, progress: bool):
    """Fit from ``n_starts`` starting points; keep the best proper converged solution.

    Returns the table of starts and the fit-table fields ``converged, proper,
    best_of_starts, n_starts, n_starts_at_best, status``; ``mod`` is left at the chosen
    solution.
    """
    from tqdm.auto import tqdm

    s = np.asarray(mod.mx_cov, dtype=float)
    rng = np.random.default_rng(seed)
    efa = _factor_loadings_efa(mod, spec, s)
    points = [mod.param_vals.astype(float).copy(), _start(mod, spec, s, efa)]
    points = points[:n_starts] + [_start(mod, spec, s, efa, rng) for _ in range(n_starts - 2)]
    rows, sols = [], []
    with single_threaded_blas():
        for k, x0 in enumerate(tqdm(points, desc="CFA starts", disable=not progress)):
            mod.param_vals = x0.copy()
            mod.update_matrices(mod.param_vals)
            try:
                res = mod.fit(obj="MLW", solver="SLSQP", options=dict(SEMOPY_OPTIONS))
                x, ok = np.asarray(res.x, dtype=float), bool(res.success)
            except (np.linalg.LinAlgError, ValueError, FloatingPointError):
                x, ok = x0, False
            f = mod.obj_mlw(x) if np.all(np.isfinite(x)) else np.inf
            chk = _check_solution(mod, spec, x, ok)
            rows.append(
                {
                    "start": k,
                    "chi2": n * f if np.isfinite(f) else np.nan,
                    "converged": chk["converged"],
                    "proper": chk["proper"],
                    "max_gradient": chk["max_gradient"],
                }
            )
            sols.append((x, chk))
    table = pd.DataFrame(rows)
    chi2 = table["chi2"].to_numpy(dtype=float)
    finite = np.isfinite(chi2)
    for mask in (table.converged & table.proper, table.converged, finite):
        mask = np.asarray(mask, dtype=bool) & finite
        if mask.any():
            best = int(np.flatnonzero(mask)[np.argmin(chi2[mask])])
            break
    else:
        best = 0
    x, chk = sols[best]
    mod.param_vals = x.copy()
    mod.update_matrices(x)
    table["chosen"] = table["start"] == best
    lowest = float(np.nanmin(chi2)) if finite.any() else np.nan
    best_of = bool(np.isfinite(chi2[best]) and chi2[best] <= lowest + SAME_OPTIMUM_CHI2)
    at_best = int(np.sum(np.abs(chi2[finite] - chi2[best]) <= SAME_OPTIMUM_CHI2))
    problems = []
    if not chk["converged"]:
        problems.append(f"not converged (largest gradient {chk['max_gradient']:.2g})")
    if not chk["proper"]:
        problems.append("improper solution: " + ", ".join(chk["problems"]))
    if n_starts == 1:
        problems.append("one start: a better optimum is not ruled out (use several starts)")
    if not best_of:
        problems.append(
            "an improper or unconverged solution of another start fits better "
            f"(chi2 {lowest:.4g} against {chi2[best]:.4g})"
        )
    check = {
        "converged": bool(chk["converged"]),
        "proper": bool(chk["proper"]),
        "best_of_starts": best_of,
        "n_starts": int(n_starts),
        "n_starts_at_best": at_best,
        "status": "; ".join(problems) if problems else "ok",
    }
    return table, check


def _check_items(spec: ModelSpec, x: pd.DataFrame, source: str) -> None:
    cols = [str(c) for c in x.columns]
    unknown = [v for v in spec.observed if v not in cols]
    if unknown:
        v = unknown[0]
        more = (
            f" (and {len(unknown) - 1} more: {', '.join(unknown[1:6])})" if len(unknown) > 1 else ""
        )
        have = ", ".join(cols[:12]) + (" ..." if len(cols) > 12 else "")
        raise DataFormatError(
            source,
            f"line {spec.lines[v]}",
            v,
            f"{v!r} is neither a factor (left of '=~') nor an "
            f"item of the data{more}; the items are {have}",
        )
    clash = [f for f in spec.factors if f in cols]
    if clash:
        f = clash[0]
        raise DataFormatError(
            source,
            f"line {spec.lines[f]}",
            f,
            f"the factor {f!r} has the name of an item of the data; give the factor another name",
        )


def cfa(
    data: pd.DataFrame,
    model: str,
    *,
    source: str = "model",
    n_starts: int = N_STARTS,
    seed: int = 0,
    progress: bool = False,
) -> CFAResult:
    """Fit a confirmatory factor model by ML, as ``lavaan::cfa(model, data, estimator = "ML")``.

    Parameters
    ----------
    data : DataFrame
        Respondents x items (numbers; respondents with a missing answer to a
        model item are left out). Columns not in the model are ignored.
    model : str
        lavaan syntax (see :func:`parse_model`).
    source : str
        Name of the model in error messages (its file, from the command line).
    n_starts : int
        Starting points of the ML fit: semopy's own start, a start from
        factor loadings, then ``n_starts - 2`` random starts drawn with
        ``seed`` (the module notes say how). One start is reported as such in
        ``fit.status``.
    seed : int
        Seed of the random starts: equal seeds give equal tables.
    progress : bool
        Show a tqdm bar over the starts.

    Returns
    -------
    CFAResult
        Tidy ``fit``, ``loadings``, ``factor_correlations``, ``estimates`` and ``starts``.

    Warns
    -----
    CFAWarning
        When ``fit.status`` is not ``"ok"``: an improper solution, no
        convergence, or a better improper solution than the proper one returned.

    Raises
    ------
    DataFormatError
        The model cannot be parsed or names an item the data lack.
    ValueError
        Too few respondents, an item without variance, a singular covariance
        matrix, or a model with negative degrees of freedom.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = pd.DataFrame(rng.standard_normal((400, 1)) * .8 + rng.standard_normal((400, 4)) * .6,
    ...                  columns=["q1", "q2", "q3", "q4"])
    >>> res = cfa(x, "F =~ q1 + q2 + q3 + q4")
    >>> t = res.loadings.round(2)
    >>> t.item.tolist(), t.estimate.tolist(), t.std_all.tolist()
    (['q1', 'q2', 'q3', 'q4'], [1.0, 1.04, 1.03, 0.98], [0.78, 0.82, 0.8, 0.79])
    """
    import semopy
    from semopy.stats import calc_dof

    spec = parse_model(model, source=source)
    x = item_frame(data, source="items", min_items=1)
    x.columns = [str(c) for c in x.columns]
    _check_items(spec, x, source)
    xs = x[spec.observed].dropna(how="any")
    p = len(spec.observed)
    if len(xs) < 3:
        raise ValueError(
            f"need at least 3 respondents who answered every model item, got {len(xs)}"
        )
    sd = xs.std()
    flat = sd.index[~(sd > 0)]
    if len(flat):
        raise ValueError(
            f"item {flat[0]!r} has no variance among the {len(xs)} complete respondents"
        )
    s = np.cov(xs.to_numpy(), rowvar=False, bias=True)
    d = 1.0 / np.sqrt(np.diag(s))
    if not np.linalg.eigvalsh(s * np.outer(d, d)).min() > MIN_EIGENVALUE:
        raise ValueError(
            f"the covariance matrix of the {p} model items is singular "
            f"({len(xs)} complete respondents): "
            "use more respondents or fewer (or less redundant) items"
        )
    mod = semopy.Model(spec.description)
    mod.load(data=xs)
    df = calc_dof(mod)
    if df < 0:
        raise ValueError(
            f"the model is not identified: {len(mod.param_vals)} free parameters for "
            f"{p * (p + 1) // 2} variances and covariances (df = {df})"
        )
    if isinstance(n_starts, bool) or not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        raise ValueError(f"n_starts must be a positive integer, got {n_starts!r}")
    starts, check = _fit_from_starts(mod, spec, len(xs), int(n_starts), seed, progress)
    sigma = mod.calc_sigma()[0]
    fit = fit_indices(
        np.asarray(mod.mx_cov, dtype=float),
        np.asarray(sigma, dtype=float),
        len(xs),
        len(mod.param_vals),
    )
    fit.update(check)
    if check["status"] != "ok":
        warnings.warn(f"{source}: CFA {check['status']}", CFAWarning, stacklevel=2)

    with single_threaded_blas():
        ins = mod.inspect(std_est=True)
    num = {
        c: pd.to_numeric(ins[c], errors="coerce")
        for c in ("Estimate", "Std. Err", "z-value", "p-value", "Est. Std")
    }
    est = pd.DataFrame(
        {
            "lhs": ins["lval"],
            "op": ins["op"],
            "rhs": ins["rval"],
            "estimate": num["Estimate"],
            "se": num["Std. Err"],
            "z": num["z-value"],
            "p_value": num["p-value"],
            "std_all": num["Est. Std"],
        }
    )
    is_load = (est["op"] == "~") & est.apply(
        lambda r: r["lhs"] in spec.factors.get(r["rhs"], ()), axis=1
    )
    est.loc[is_load, ["lhs", "rhs"]] = est.loc[is_load, ["rhs", "lhs"]].to_numpy()
    est.loc[is_load, "op"] = "=~"
    est = est.reset_index(drop=True)
    order = {
        (f, it): k
        for k, (f, it) in enumerate((f, it) for f, its in spec.factors.items() for it in its)
    }
    load = (
        est[est["op"] == "=~"].rename(columns={"lhs": "factor", "rhs": "item"}).drop(columns="op")
    )
    load = load.assign(
        _o=[
            order.get((f, i), len(order)) for f, i in zip(load["factor"], load["item"], strict=True)
        ]
    )
    load = load.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    fac = list(spec.factors)
    cov = est[
        (est["op"] == "~~")
        & est["lhs"].isin(fac)
        & est["rhs"].isin(fac)
        & (est["lhs"] != est["rhs"])
    ]
    rank = {f: k for k, f in enumerate(fac)}
    pairs = [
        (a, b) if rank[a] < rank[b] else (b, a) for a, b in zip(cov["lhs"], cov["rhs"], strict=True)
    ]
    fcor = pd.DataFrame(
        {
            "factor_1": [a for a, _ in pairs],
            "factor_2": [b for _, b in pairs],
            "covariance": cov["estimate"].to_numpy(),
            "r": cov["std_all"].to_numpy(),
        }
    )
    fcor = fcor.sort_values(
        ["factor_1", "factor_2"], key=lambda c: c.map(rank), kind="stable"
    ).reset_index(drop=True)
    return CFAResult(
        fit=pd.DataFrame([fit]),
        loadings=load,
        factor_correlations=fcor,
        estimates=est,
        spec=spec,
        model=mod,
        starts=starts,
    )
