"""Measurement invariance across groups: multi-group CFA by ML, as lavaan's ``group.equal``.

Before group means (men and women, humans and an LLM's silicon sample) are compared, the items
should measure the same thing in every group. :func:`multigroup_cfa` fits one lavaan-syntax
measurement model in every group at once, with chosen parameters held equal across groups;
:func:`invariance` fits the usual sequence and tests each step against the one before:

=============  ===========================================  ==================================
level          held equal across groups                     lavaan
=============  ===========================================  ==================================
configural     nothing (same pattern of loadings)           ``group.equal = ""``
metric         loadings                                     ``"loadings"``
scalar         loadings, intercepts                         ``+ "intercepts"``
strict         loadings, intercepts, residual variances     ``+ "residuals"``
=============  ===========================================  ==================================

Partial invariance frees named parameters from these equalities (lavaan's ``group.partial``):
``"A1 ~ 1"`` (the intercept of A1), ``"Agree =~ A2"`` (a loading), ``"A1 ~~ A1"`` (a residual
variance).

Statistics
----------
- Model (lavaan's defaults for ``cfa(..., group = )``, ``meanstructure``): in group ``g``,
  ``Sigma_g = Lambda_g Psi_g Lambda_g' + Theta_g`` and ``mu_g = nu_g + Lambda_g alpha_g``. The
  first loading of each factor is 1 in every group; factor variances and covariances, residual
  variances and intercepts are free in every group; latent means ``alpha`` are 0 in every group
  unless the intercepts are equal, when they are 0 in the first group and free in the others.
  Groups are in the order of their first appearance in the data, as lavaan orders them.
- Estimates: maximum likelihood under multivariate normality in each group
  (lavaan ``likelihood = "normal"``), minimising
  ``F = sum_g N_g [ln|Sigma_g| - ln|S_g| + tr(S_g Sigma_g^-1) - p + (m_g - mu_g)' Sigma_g^-1
  (m_g - mu_g)]`` with ``S_g`` the covariance matrix divided by ``N_g`` and ``m_g`` the means of
  the complete respondents of group ``g`` (Joreskog 1971, "Simultaneous factor analysis in
  several populations"; Sorbom 1974 for the means). Standard errors from the expected
  information ``sum_g N_g [J_S' (Sigma^-1 x Sigma^-1) J_S / 2 + J_mu' Sigma^-1 J_mu]``
  (lavaan ``se = "standard"``, ``information = "expected"``).
- Fit (lavaan ``fitMeasures``): ``chisq = F`` at the minimum (each group weighted by ``N_g``,
  not ``N_g - 1``) on ``df = G p (p + 3) / 2 - npar`` (``npar``: free parameters once equal ones
  count once); baseline: variables uncorrelated, means and variances free in every group,
  ``chisq_b = sum_g N_g (sum ln s_ii - ln|S_g|)`` on ``G p (p - 1) / 2`` df; CFI and TLI from
  these (Bentler 1990; Tucker & Lewis 1973); ``RMSEA = sqrt(G) sqrt(max(chisq - df, 0) /
  (df N))`` (Steiger 1998's multi-group correction, as lavaan); ``SRMR`` the ``N_g``-weighted mean
  of the groups' Bentler SRMR, each the root mean square of the standardised residuals
  ``(s_ij - sigma_ij) / sqrt(s_ii s_jj)`` (lower triangle with the diagonal) and
  ``(m_i - mu_i) / sqrt(s_ii)`` (lavaan's ``srmr`` with a mean structure).
- Difference test of each level against the previous: ``delta_chisq`` on ``delta_df`` with its
  chi-square ``p`` (lavaan's ``lavTestLRT`` for ML), ``delta_cfi`` and ``delta_rmsea`` (the
  level's value minus the previous one; Chen 2007 suggests a drop in CFI of more than 0.01 with a
  rise in RMSEA of more than 0.015 as a sign of non-invariance at these sample sizes).

Why hand-written
----------------
semopy (the CFA engine of :mod:`vp_stats.stats.cfa`) fits one group and has no mean structure
with cross-group equalities; no Python package fits lavaan's multi-group model. The fit here is
Fisher scoring (Gauss-Newton on the expected information) with step halving, from lavaan-like
starting values; the test suite checks chisq, df, CFI, TLI, RMSEA, SRMR, every estimate and its
standard error against lavaan 0.6 on psychTools' bfi by gender and by education.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> lam = np.array([.8, .7, .6, .7])
>>> def sample(n, shift):
...     f = rng.standard_normal((n, 1)) + shift
...     return pd.DataFrame(f * lam + .6 * rng.standard_normal((n, 4)), columns=list("abcd"))
>>> x = pd.concat([sample(300, 0).assign(group="x"), sample(300, .5).assign(group="y")])
>>> res = invariance(x, "F =~ a + b + c + d", group="group")
>>> res.table[["level", "df", "delta_df"]].to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
{'level': ['configural', 'metric', 'scalar', 'strict'], 'df': [4, 7, 10, 14],
 'delta_df': [nan, 3.0, 3.0, 4.0]}
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from vp_stats.errors import DataFormatError
from vp_stats.stats.cfa import ModelSpec, _check_items, parse_model
from vp_stats.stats.resampling import single_threaded_blas
from vp_stats.tables import Result

__all__ = [
    "LEVELS",
    "EQUALITIES",
    "MultiGroupCFAResult",
    "InvarianceResult",
    "multigroup_cfa",
    "invariance",
]

#: The invariance levels and the parameter classes each holds equal (lavaan's group.equal).
LEVELS = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}
#: The parameter classes that can be held equal across groups (lavaan's names).
EQUALITIES = (
    "loadings",
    "intercepts",
    "residuals",
    "residual.covariances",
    "lv.variances",
    "lv.covariances",
)
GRADIENT_TOL = 1e-9  # largest |dF/dtheta| / N at the solution
MAX_ITER = 500
SINGULAR = 1e-9  # information matrix eigenvalue ratio below this: not identified
FIT_COLUMNS = ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr")
ORDINAL_COLUMNS = (
    "chisq_scaled",
    "pvalue_scaled",
    "chisq_scaling_factor",
    "cfi_scaled",
    "tli_scaled",
    "rmsea_scaled",
)


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class _Slot:
    group: int
    matrix: str  # "lambda", "psi", "theta", "nu", "alpha"
    i: int
    j: int
    lhs: str
    op: str
    rhs: str


def _effects(spec: ModelSpec, source: str) -> dict:
    from semopy.parser import parse_desc

    eff, _ = parse_desc(spec.description)
    if eff.get("~"):
        lhs = next(iter(eff["~"]))
        raise DataFormatError(
            source,
            f"line {spec.lines.get(lhs, '?')}",
            lhs,
            "regressions ('~') are not supported in a multi-group CFA: "
            "write a measurement model ('=~', '~~')",
        )
    return eff


def _modifier(mod):
    """A modifier: ``(fixed value, None)``, ``(None, label)`` or ``(None, None)``."""
    if mod is None:
        return None, None
    try:
        return float(mod), None
    except ValueError:
        return None, str(mod)


def _norm(term: str) -> str:
    return re.sub(r"\s+", "", term)


class _Model:
    """The parameter table of a multi-group CFA: which matrix cells are free, fixed or equal."""

    def __init__(self, spec: ModelSpec, source: str, n_groups: int, equal, partial):
        eff = _effects(spec, source)
        self.spec = spec
        self.items = list(spec.observed)
        self.factors = list(spec.factors)
        self.n_groups = n_groups
        p, m = len(self.items), len(self.factors)
        self.p, self.m = p, m
        ii = {v: k for k, v in enumerate(self.items)}
        ff = {v: k for k, v in enumerate(self.factors)}
        equal = set(equal)
        partial_keys = {_norm(t) for t in partial}
        # (matrix, i, j, lhs, op, rhs, fixed, label, class)
        cells = []
        for f, rhs_map in eff.get("=~", {}).items():
            for k, (item, mod) in enumerate(rhs_map.items()):
                if item in spec.factors:
                    raise DataFormatError(
                        source,
                        f"line {spec.lines.get(item, '?')}",
                        item,
                        "second-order factors are not supported in a multi-group CFA",
                    )
                fixed, label = _modifier(mod)
                if k == 0 and fixed is None:
                    fixed = 1.0  # lavaan's auto.fix.first
                cells.append(("lambda", ii[item], ff[f], f, "=~", item, fixed, label, "loadings"))
        declared = set()
        for a, rhs_map in eff.get("~~", {}).items():
            for b, mod in rhs_map.items():
                fixed, label = _modifier(mod)
                both_lv = a in ff and b in ff
                if not both_lv and (a in ff or b in ff):
                    raise DataFormatError(
                        source,
                        f"line {spec.lines.get(a, '?')}",
                        a,
                        f"'{a} ~~ {b}': a covariance between a factor and an item",
                    )
                if both_lv:
                    i, j = sorted((ff[a], ff[b]))
                    cls = "lv.variances" if a == b else "lv.covariances"
                    cells.append(("psi", j, i, a, "~~", b, fixed, label, cls))
                else:
                    i, j = sorted((ii[a], ii[b]))
                    cls = "residuals" if a == b else "residual.covariances"
                    cells.append(("theta", j, i, a, "~~", b, fixed, label, cls))
                declared.add(("psi" if both_lv else "theta", *sorted((a, b))))
        for it in self.items:
            if ("theta", it, it) not in declared:
                cells.append(("theta", ii[it], ii[it], it, "~~", it, None, None, "residuals"))
        for a in range(m):
            for b in range(a + 1):
                fa, fb = self.factors[b], self.factors[a]
                if ("psi", *sorted((fa, fb))) not in declared:
                    cls = "lv.variances" if a == b else "lv.covariances"
                    cells.append(("psi", a, b, fa, "~~", fb, None, None, cls))
        for it in self.items:
            cells.append(("nu", ii[it], 0, it, "~1", "", None, None, "intercepts"))
        means_free = "intercepts" in equal
        for f in self.factors:
            cells.append(("alpha", ff[f], 0, f, "~1", "", 0.0, None, "means"))
        known = {_norm(f"{c[3]}{'~' if c[4] == '~1' else c[4]}{c[5] or '1'}") for c in cells}
        for t in partial:
            if _norm(t) not in known:
                raise DataFormatError(
                    source,
                    None,
                    "group_partial",
                    f"{t!r} names no parameter of the model (write e.g. 'A1 ~ 1' for an "
                    "intercept, 'F =~ A2' for a loading, 'A1 ~~ A1' for a residual variance)",
                )
        self.slots: list[_Slot] = []
        self.fixed: list[float | None] = []
        keys: dict = {}
        self.free_of_slot: list[int] = []
        self.labels: list[str] = []
        for g in range(n_groups):
            for mat, i, j, lhs, op, rhs, fixed, label, cls in cells:
                key_term = _norm(f"{lhs}{'~' if op == '~1' else op}{rhs or '1'}")
                if mat == "alpha" and means_free and g > 0:
                    fixed = None
                slot = _Slot(g, mat, i, j, lhs, op, rhs)
                self.slots.append(slot)
                if fixed is not None:
                    self.fixed.append(fixed)
                    self.free_of_slot.append(-1)
                    self.labels.append(label or "")
                    continue
                if label is not None:
                    key = ("label", label)
                elif cls in equal and key_term not in partial_keys:
                    key = ("equal", mat, i, j)
                else:
                    key = ("group", g, mat, i, j)
                if key not in keys:
                    keys[key] = len(keys)
                self.fixed.append(None)
                self.free_of_slot.append(keys[key])
                self.labels.append(
                    label if label is not None else (f".{mat}{i}_{j}" if key[0] == "equal" else "")
                )
        self.n_free = len(keys)
        self.free_of_slot = np.asarray(self.free_of_slot)

    def matrices(self, theta: np.ndarray):
        """Per group: Lambda, Psi, Theta, nu, alpha at the free parameters ``theta``."""
        out = []
        p, m = self.p, self.m
        for _g in range(self.n_groups):
            out.append(
                {
                    "lambda": np.zeros((p, m)),
                    "psi": np.zeros((m, m)),
                    "theta": np.zeros((p, p)),
                    "nu": np.zeros((p, 1)),
                    "alpha": np.zeros((m, 1)),
                }
            )
        for s, fx, k in zip(self.slots, self.fixed, self.free_of_slot, strict=True):
            v = fx if k < 0 else theta[k]
            mat = out[s.group][s.matrix]
            mat[s.i, s.j] = v
            if s.matrix in ("psi", "theta"):
                mat[s.j, s.i] = v
        return out

    def implied(self, theta: np.ndarray):
        """Per group: model-implied covariance matrix and mean vector."""
        res = []
        for mx in self.matrices(theta):
            lam = mx["lambda"]
            sigma = lam @ mx["psi"] @ lam.T + mx["theta"]
            mu = (mx["nu"] + lam @ mx["alpha"]).ravel()
            res.append((sigma, mu))
        return res


# --------------------------------------------------------------------------- the fit


def _objective(model: _Model, theta, moments):
    """``F`` (the chi-square at the minimum), or inf where a Sigma_g is not positive definite."""
    total = 0.0
    for (sigma, mu), (n, s, mean, ld_s) in zip(model.implied(theta), moments, strict=True):
        sign, ld = np.linalg.slogdet(sigma)
        if sign <= 0:
            return np.inf
        inv = np.linalg.inv(sigma)
        d = mean - mu
        total += n * (ld - ld_s + np.trace(s @ inv) - len(mean) + d @ inv @ d)
    return float(total)


def _jacobian(model: _Model, theta):
    """Per group: dSigma/dtheta_k (K, p, p) and dmu/dtheta_k (K, p), analytic.

    ``Sigma = Lambda Psi Lambda' + Theta`` and ``mu = nu + Lambda alpha``: a loading
    ``lambda_ij`` moves row and column ``i`` of Sigma by ``(Lambda Psi)_{.j}`` and ``mu_i`` by
    ``alpha_j``; ``psi_ij`` adds ``lambda_.i lambda_.j'`` (and its transpose); ``theta_ij`` the
    unit matrix cell(s); ``nu_i`` the unit vector; ``alpha_j`` the column ``lambda_.j``.
    """
    k = len(theta)
    p = model.p
    mats = model.matrices(theta)
    jac = [(np.zeros((k, p, p)), np.zeros((k, p))) for _ in range(model.n_groups)]
    lp = [mx["lambda"] @ mx["psi"] for mx in mats]
    for s, q in zip(model.slots, model.free_of_slot, strict=True):
        if q < 0:
            continue
        ds, dm = jac[s.group]
        mx = mats[s.group]
        lam = mx["lambda"]
        i, j = s.i, s.j
        if s.matrix == "lambda":
            col = lp[s.group][:, j]
            ds[q, i, :] += col
            ds[q, :, i] += col
            dm[q, i] += mx["alpha"][j, 0]
        elif s.matrix == "psi":
            a = np.outer(lam[:, i], lam[:, j])
            ds[q] += a if i == j else a + a.T
        elif s.matrix == "theta":
            ds[q, i, j] += 1.0
            if i != j:
                ds[q, j, i] += 1.0
        elif s.matrix == "nu":
            dm[q, i] += 1.0
        else:
            dm[q] += lam[:, i]
    return jac


def _gradient_information(model: _Model, theta, moments):
    """Gradient of ``F`` and the expected information (of the log-likelihood) at ``theta``."""
    k = len(theta)
    grad = np.zeros(k)
    info = np.zeros((k, k))
    for (sigma, mu), (n, s, mean, _), (ds, dm) in zip(
        model.implied(theta), moments, _jacobian(model, theta), strict=True
    ):
        inv = np.linalg.inv(sigma)
        d = mean - mu
        w = inv - inv @ (s + np.outer(d, d)) @ inv
        grad += n * (ds.reshape(k, -1) @ w.ravel() - 2 * dm @ (inv @ d))
        b = inv @ ds  # (K, p, p): Sigma^-1 dSigma_k
        bt = b.transpose(0, 2, 1).reshape(k, -1)
        info += n * (0.5 * b.reshape(k, -1) @ bt.T + dm @ inv @ dm.T)
    return grad, info


def _start(model: _Model, moments) -> np.ndarray:
    """Starting values in lavaan's manner: loadings from each factor's first principal axis.

    Loadings: the leading eigenvector of the factor's items' covariance matrix, scaled to the
    marker; factor variance from it; residual variances half the item variances (lavaan's
    default); factor covariances 0; intercepts the item means; latent means 0. Values of
    parameters held equal are averaged over the groups.
    """
    sums = np.zeros(model.n_free)
    counts = np.zeros(model.n_free)
    ii = {v: k for k, v in enumerate(model.items)}
    for g, (_, s, mean, _) in enumerate(moments):
        lam_std, psi = {}, {}
        for f, its in model.spec.factors.items():
            idx = [ii[i] for i in its]
            vals, vecs = np.linalg.eigh(s[np.ix_(idx, idx)])
            v = vecs[:, -1] * np.sqrt(max(vals[-1], 1e-8))
            marker = v[0] if abs(v[0]) > 1e-6 else 1e-6
            for it, x in zip(its, v, strict=True):
                lam_std[(f, it)] = x / marker
            psi[f] = marker**2
        for s_, k in zip(model.slots, model.free_of_slot, strict=True):
            if s_.group != g or k < 0:
                continue
            if s_.matrix == "lambda":
                val = lam_std.get((s_.lhs, s_.rhs), 0.5)
            elif s_.matrix == "psi":
                val = psi.get(s_.lhs, 0.05) if s_.lhs == s_.rhs else 0.0
            elif s_.matrix == "theta":
                val = 0.5 * s[s_.i, s_.i] if s_.i == s_.j else 0.0
            elif s_.matrix == "nu":
                val = mean[s_.i]
            else:
                val = 0.0
            sums[k] += val
            counts[k] += 1
    return sums / np.maximum(counts, 1)


def _fit(model: _Model, moments, source: str):
    """Fisher scoring with step halving; returns theta, F, gradient, information, status."""
    theta = _start(model, moments)
    f = _objective(model, theta, moments)
    n_total = sum(m[0] for m in moments)
    status = "ok"
    for _it in range(MAX_ITER):
        grad, info = _gradient_information(model, theta, moments)
        if np.max(np.abs(grad)) / n_total < GRADIENT_TOL:
            break
        try:
            step = np.linalg.solve(info, -0.5 * grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, -0.5 * grad, rcond=None)[0]
        t = 1.0
        while t > 1e-10:
            cand = theta + t * step
            fc = _objective(model, cand, moments)
            if fc <= f + 1e-12 * max(abs(f), 1.0):
                break
            t /= 2
        else:
            status = "not converged (no step lowers the discrepancy)"
            break
        theta, f_old, f = cand, f, fc
        if abs(f_old - f) < 1e-14 * max(abs(f), 1.0) and t < 1e-6:
            break
    else:
        status = f"not converged in {MAX_ITER} iterations"
    grad, info = _gradient_information(model, theta, moments)
    max_grad = float(np.max(np.abs(grad)) / n_total) if len(grad) else 0.0
    if status == "ok" and max_grad > 1e-6:
        status = f"not converged (largest gradient {max_grad:.2g})"
    ev = np.linalg.eigvalsh(info)
    if ev.min() <= SINGULAR * max(ev.max(), 1e-300):
        raise DataFormatError(
            source,
            None,
            None,
            "the model is not identified: its information matrix is singular "
            f"(smallest eigenvalue {ev.min():.3g}); fix a loading or a factor variance, or "
            "give each factor enough items",
        )
    return theta, f, info, status


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class MultiGroupCFAResult(Result):
    """A multi-group CFA (:func:`multigroup_cfa`).

    ``table`` is one row of fit measures: ``n_obs, n_groups, npar, chisq, df, pvalue, cfi, tli,
    rmsea, srmr, baseline_chisq, baseline_df, converged, proper, status``. ``estimates`` has
    one row per parameter and group: ``group, lhs, op, rhs, label`` (shared by parameters
    held equal; lavaan's ``.p<k>.`` labels in spirit), ``free`` (0 for a fixed parameter, else
    the index of the free parameter, equal for equal parameters), ``estimate, se, z, p_value``.
    ``groups`` has ``group, n_obs`` in the order of the fit (the first group is the reference).
    """

    estimates: pd.DataFrame = None
    groups: pd.DataFrame = None


@dataclass(frozen=True)
class InvarianceResult(Result):
    """The invariance sequence (:func:`invariance`).

    ``table``: one row per level, ``level, group_equal, group_partial, n_obs, npar, chisq, df,
    pvalue, cfi, tli, rmsea, srmr, delta_chisq, delta_df, p, delta_cfi, delta_rmsea, converged,
    proper, status`` (the differences against the previous level; NaN on the first).
    ``estimates``: every level's parameter table with a ``level`` column first. ``fits``: level
    -> :class:`MultiGroupCFAResult`.
    """

    estimates: pd.DataFrame = None
    fits: dict = None


def _moments(x: pd.DataFrame, items, group: str, data_source: str):
    levels = list(pd.unique(x[group]))
    moments, rows = [], []
    p = len(items)
    for lev in levels:
        sub = x[x[group] == lev]
        n = len(sub)
        if n <= p:
            raise DataFormatError(
                data_source,
                f"row {sub.index[0]!r}" if n else None,
                group,
                f"group {lev!r} has {n} respondent{'s' if n != 1 else ''} with every model "
                f"item answered; a group needs more than the {p} model items "
                f"(at least {p + 1}) for its covariance matrix",
            )
        v = sub[items].to_numpy(dtype=float)
        s = np.cov(v, rowvar=False, bias=True)
        sign, ld = np.linalg.slogdet(s)
        flat = [it for it, sd in zip(items, np.sqrt(np.diag(s)), strict=True) if not sd > 0]
        if flat:
            raise DataFormatError(
                data_source,
                None,
                flat[0],
                f"item {flat[0]!r} has no variance in group {lev!r} ({n} complete respondents)",
            )
        if sign <= 0:
            raise DataFormatError(
                data_source,
                None,
                group,
                f"the covariance matrix of the {p} model items is singular in group {lev!r} "
                f"({n} complete respondents)",
            )
        moments.append((n, s, v.mean(axis=0), ld))
        rows.append({"group": lev, "n_obs": n})
    return moments, pd.DataFrame(rows)


def _fit_measures(model: _Model, theta, chisq: float, moments) -> dict:
    g = model.n_groups
    p = model.p
    n_total = sum(m[0] for m in moments)
    df = g * p * (p + 3) // 2 - model.n_free
    chisq = max(chisq, 0.0)
    chi_b = sum(n * (np.sum(np.log(np.diag(s))) - ld) for n, s, _, ld in moments)
    df_b = g * p * (p - 1) // 2
    t1, t2 = max(chisq - df, 0.0), max(chisq - df, chi_b - df_b, 0.0)
    cfi = 1.0 if t2 == 0 else 1.0 - t1 / t2
    if df > 0:
        tli = (chi_b / df_b - chisq / df) / (chi_b / df_b - 1.0)
        rmsea = float(np.sqrt(g) * np.sqrt(max(chisq - df, 0.0) / (df * n_total)))
        pval = float(stats.chi2.sf(chisq, df))
    else:
        tli, rmsea, pval = 1.0, 0.0, np.nan
    srmr = 0.0
    for (sigma, mu), (n, s, mean, _) in zip(model.implied(theta), moments, strict=True):
        d = 1.0 / np.sqrt(np.diag(s))
        r_cov = ((s - sigma) * np.outer(d, d))[np.tril_indices(p)]
        r_mean = (mean - mu) * d
        srmr += n * np.sqrt(np.mean(np.concatenate([r_cov, r_mean]) ** 2))
    return {
        "n_obs": int(n_total),
        "n_groups": int(g),
        "npar": int(model.n_free),
        "chisq": float(chisq),
        "df": int(df),
        "pvalue": pval,
        "cfi": float(cfi),
        "tli": float(tli),
        "rmsea": rmsea,
        "srmr": float(srmr / n_total),
        "baseline_chisq": float(chi_b),
        "baseline_df": int(df_b),
    }


def _proper(model: _Model, theta) -> list[str]:
    problems = []
    for g, mx in enumerate(model.matrices(theta)):
        bad = [model.items[i] for i in range(model.p) if not mx["theta"][i, i] > 0]
        if bad:
            problems.append(f"negative residual variance of {bad[0]!r} in group {g + 1}")
        psi = mx["psi"]
        if not np.linalg.eigvalsh(psi).min() > 0:
            problems.append(f"factor covariance matrix not positive definite in group {g + 1}")
    return problems


def _check_equal(group_equal, source: str) -> tuple:
    if isinstance(group_equal, str):
        group_equal = (group_equal,) if group_equal else ()
    bad = [e for e in group_equal if e not in EQUALITIES]
    if bad:
        raise DataFormatError(
            source,
            None,
            "group_equal",
            f"{bad[0]!r} is not one of {list(EQUALITIES)}",
        )
    return tuple(group_equal)


def _prepare(data: pd.DataFrame, model: str, group: str, source: str, data_source: str):
    from vp_stats.stats.factor import item_frame

    spec = parse_model(model, source=source)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a DataFrame, got {type(data).__name__}")
    if group not in data.columns:
        raise DataFormatError(
            data_source,
            None,
            group,
            f"no group column {group!r} in the data (columns: "
            f"{', '.join(map(str, list(data.columns)[:12]))})",
        )
    items = data.drop(columns=[group])
    items.columns = [str(c) for c in items.columns]
    _check_items(spec, items, source)
    x = item_frame(items[spec.observed], source=data_source, min_items=1)
    x.columns = [str(c) for c in x.columns]
    x[group] = data[group].to_numpy()
    x = x.dropna(subset=[*spec.observed, group], how="any")
    return spec, x


def _multigroup(spec, x, group, group_equal, group_partial, source, data_source):
    moments, groups = _moments(x, spec.observed, group, data_source)
    if len(moments) < 2:
        raise DataFormatError(
            data_source,
            None,
            group,
            f"a multi-group CFA needs at least 2 groups; {group!r} has "
            f"{len(moments)} among the complete respondents",
        )
    model = _Model(spec, source, len(moments), group_equal, group_partial)
    df = len(moments) * model.p * (model.p + 3) // 2 - model.n_free
    if df < 0:
        raise DataFormatError(
            source,
            None,
            None,
            f"the model is not identified: {model.n_free} free parameters for "
            f"{df + model.n_free} means, variances and covariances (df = {df})",
        )
    with single_threaded_blas():  # small matrices: threads only contend
        theta, chisq, info, status = _fit(model, moments, source)
    fit = _fit_measures(model, theta, chisq, moments)
    problems = _proper(model, theta)
    fit.update(
        {
            "converged": status == "ok",
            "proper": not problems,
            "status": "; ".join(([] if status == "ok" else [status]) + problems) or "ok",
        }
    )
    cov = np.linalg.inv(info)
    se_free = np.sqrt(np.clip(np.diag(cov), 0, None))
    rows = []
    labels = list(groups["group"])
    for s, fx, k, lab in zip(
        model.slots, model.fixed, model.free_of_slot, model.labels, strict=True
    ):
        est = fx if k < 0 else theta[k]
        se = np.nan if k < 0 else se_free[k]
        lhs, op, rhs = s.lhs, s.op, s.rhs
        rows.append(
            {
                "group": labels[s.group],
                "lhs": lhs,
                "op": op,
                "rhs": rhs,
                "label": lab,
                "free": int(k + 1),
                "estimate": float(est),
                "se": float(se),
                "z": float(est / se) if k >= 0 and se > 0 else np.nan,
                "p_value": float(2 * stats.norm.sf(abs(est / se))) if k >= 0 and se > 0 else np.nan,
            }
        )
    est = pd.DataFrame(rows)
    notes = {
        "group_equal": list(group_equal),
        "group_partial": list(group_partial),
        "estimator": "ML",
        "reference_group": labels[0],
    }
    return MultiGroupCFAResult(pd.DataFrame([fit]), notes, estimates=est, groups=groups)


def multigroup_cfa(
    data: pd.DataFrame,
    model: str,
    group: str,
    *,
    group_equal=(),
    group_partial=(),
    source: str = "model",
    data_source: str = "data",
) -> MultiGroupCFAResult:
    """Fit a CFA in several groups at once, as ``lavaan::cfa(model, data, group=, group.equal=)``.

    Parameters
    ----------
    data : DataFrame
        Respondents x items plus the ``group`` column. Respondents with a missing answer to a
        model item or a missing group are left out (lavaan's listwise default).
    model : str
        lavaan syntax (``=~`` and ``~~`` statements, numbers to fix and labels to equate
        parameters; see :func:`vp_stats.stats.cfa.parse_model`).
    group : str
        The column whose values are the groups (in the order of first appearance; the first
        is the reference group whose latent means are 0).
    group_equal : sequence of str
        Parameter classes held equal across groups, of :data:`EQUALITIES`.
    group_partial : sequence of str
        Parameters freed from ``group_equal`` (``"A1 ~ 1"``, ``"F =~ A2"``, ``"A1 ~~ A1"``).
    source : str
        Name of the model in error messages (its file, from the command line).
    data_source : str
        Name of the data in error messages (its file).

    Returns
    -------
    MultiGroupCFAResult

    Raises
    ------
    DataFormatError
        The model cannot be parsed or names a missing item; a group with too few complete
        respondents (naming its first row) or an item without variance in a group; a
        ``group_partial`` term that names no parameter; a model that is not identified
        (negative df, or a singular information matrix at the solution).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> f = rng.standard_normal((400, 1))
    >>> x = pd.DataFrame(f * [.8, .7, .6] + .6 * rng.standard_normal((400, 3)), columns=list("abc"))
    >>> x["g"] = np.repeat(["u", "v"], 200)
    >>> res = multigroup_cfa(x, "F =~ a + b + c", "g", group_equal=["loadings"])
    >>> int(res.table.df.item()), res.table.status.item()
    (2, 'ok')
    """
    group_equal = _check_equal(group_equal, source)
    group_partial = (group_partial,) if isinstance(group_partial, str) else tuple(group_partial)
    spec, x = _prepare(data, model, group, source, data_source)
    return _multigroup(spec, x, group, group_equal, group_partial, source, data_source)


def invariance(
    data: pd.DataFrame,
    model: str,
    group: str,
    *,
    levels=None,
    group_partial=(),
    source: str = "model",
    data_source: str = "data",
    ordered: bool = False,
) -> InvarianceResult:
    """Test measurement invariance: configural, metric, scalar and strict models, in sequence.

    Each level is :func:`multigroup_cfa` with :data:`LEVELS`' equalities; ``group_partial``
    frees the named parameters at every level that would hold them equal (partial invariance).
    Each level is compared with the previous one: chi-square difference test and the changes in
    CFI and RMSEA (module notes).

    The groups can be anything a column can hold: gender, education, or ``"human"`` and
    ``"llm"`` for people against an LLM's silicon sample answering the same items
    (:func:`vp_stats.studies.invariance.stack_groups` builds that table).

    Parameters
    ----------
    data, model, group, group_partial, source, data_source
        As :func:`multigroup_cfa`.
    levels : sequence of str
        Which of :data:`LEVELS`, in order (default all four; with ``ordered``, of
        :data:`vp_stats.stats.ordinal_cfa.LEVELS`: configural, metric, scalar).
    ordered : bool
        Treat the items as ordinal (lavaan's ``ordered = TRUE``): each level is
        :func:`vp_stats.stats.ordinal_cfa.ordinal_multigroup_cfa` (DWLS on polychoric
        correlations and thresholds, WLSMV's scaled test); scalar invariance holds the
        thresholds equal. The table then also has ``chisq_scaled, pvalue_scaled,
        chisq_scaling_factor, cfi_scaled, tli_scaled, rmsea_scaled``; the difference test is
        :func:`vp_stats.stats.ordinal_cfa.scaled_difference_test` (lavaan's ``lavTestLRT`` for
        WLSMV) and ``delta_cfi``, ``delta_rmsea`` are differences of the scaled indices.
        There is no strict level: in the delta parameterization residual variances are not
        parameters.

    Returns
    -------
    InvarianceResult

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> f = rng.standard_normal((600, 1))
    >>> x = pd.DataFrame(f * [.8, .7, .6, .5] + .6 * rng.standard_normal((600, 4)),
    ...                  columns=["q1", "q2", "q3", "q4"])
    >>> x["sample"] = np.repeat(["human", "llm"], 300)
    >>> x.loc[x["sample"] == "llm", "q4"] += 1.0  # one item shifted in one group
    >>> res = invariance(x, "F =~ q1 + q2 + q3 + q4", "sample", levels=["metric", "scalar"])
    >>> bool(res.table.p.iloc[1] < 0.001)
    True
    >>> freed = invariance(x, "F =~ q1 + q2 + q3 + q4", "sample", levels=["metric", "scalar"],
    ...                    group_partial=["q4 ~ 1"])
    >>> bool(freed.table.p.iloc[1] > 0.01)
    True
    """
    from vp_stats.stats import ordinal_cfa as oc

    known = oc.LEVELS if ordered else LEVELS
    levels = list(known) if levels is None else levels
    levels = [levels] if isinstance(levels, str) else list(levels)
    bad = [lv for lv in levels if lv not in known]
    if bad or not levels:
        more = (
            " (ordinal items have no strict level: their residual variances are not "
            "parameters in the delta parameterization)"
            if ordered and "strict" in bad
            else ""
        )
        raise ValueError(f"levels must be among {list(known)}, got {levels!r}{more}")
    if ordered:
        group_partial = (group_partial,) if isinstance(group_partial, str) else tuple(group_partial)
        return _ordinal_invariance(data, model, group, levels, group_partial, source, data_source)
    group_partial = (group_partial,) if isinstance(group_partial, str) else tuple(group_partial)
    spec, x = _prepare(data, model, group, source, data_source)
    _Model(spec, source, 1, (), group_partial)  # a --free term must name a parameter
    rows, ests, fits = [], [], {}
    for lv in levels:
        equal = LEVELS[lv]
        partial = tuple(t for t in group_partial if _partial_class(t) in equal)
        res = _multigroup(spec, x, group, equal, partial, source, data_source)
        fits[lv] = res
        f = res.table.iloc[0].to_dict()
        rows.append(
            {
                "level": lv,
                "group_equal": ",".join(equal),
                "group_partial": ",".join(partial),
                **{k: f[k] for k in ("n_obs", "npar", *FIT_COLUMNS)},
                "converged": f["converged"],
                "proper": f["proper"],
                "status": f["status"],
            }
        )
        ests.append(res.estimates.assign(level=lv))
    table = pd.DataFrame(rows)
    prev = table.shift(1)
    table.insert(table.columns.get_loc("srmr") + 1, "delta_chisq", table["chisq"] - prev["chisq"])
    table.insert(table.columns.get_loc("delta_chisq") + 1, "delta_df", table["df"] - prev["df"])
    pdiff = [
        float(stats.chi2.sf(dc, dd)) if dd > 0 else np.nan
        for dc, dd in zip(table["delta_chisq"], table["delta_df"], strict=True)
    ]
    table.insert(table.columns.get_loc("delta_df") + 1, "p", pdiff)
    table.insert(table.columns.get_loc("p") + 1, "delta_cfi", table["cfi"] - prev["cfi"])
    table.insert(
        table.columns.get_loc("delta_cfi") + 1, "delta_rmsea", table["rmsea"] - prev["rmsea"]
    )
    est = pd.concat(ests, ignore_index=True)
    est = est[["level", *[c for c in est.columns if c != "level"]]]
    groups = fits[levels[0]].groups
    notes = {
        "group": group,
        "groups": groups["group"].tolist(),
        "n_obs": groups["n_obs"].tolist(),
        "reference_group": groups["group"].iloc[0],
        "group_partial": list(group_partial),
        "estimator": "ML",
    }
    return InvarianceResult(table, notes, estimates=est, fits=fits)


def _ordinal_invariance(data, model, group, levels, group_partial, source, data_source):
    from vp_stats.stats import ordinal_cfa as oc

    rows, ests, fits = [], [], {}
    for lv in levels:
        equal = oc.LEVELS[lv]
        partial = tuple(t for t in group_partial if _partial_class(t) in equal)
        res = oc.ordinal_multigroup_cfa(
            data,
            model,
            group,
            group_equal=equal,
            group_partial=group_partial,  # all: each must name a parameter; used where equal
            source=source,
            data_source=data_source,
        )
        fits[lv] = res
        f = res.table.iloc[0].to_dict()
        row = {
            "level": lv,
            "group_equal": ",".join(equal),
            "group_partial": ",".join(partial),
            **{k: f[k] for k in ("n_obs", "npar", *FIT_COLUMNS)},
            **{k: f[k] for k in ORDINAL_COLUMNS},
        }
        if len(fits) == 1:
            row.update(dict.fromkeys(("delta_chisq", "delta_df", "p"), np.nan))
        else:
            prev = fits[levels[len(fits) - 2]]
            row.update(oc.scaled_difference_test(prev, res))
        row.update(converged=f["converged"], status=f["status"])
        rows.append(row)
        e = res.estimates.copy()
        e.insert(e.columns.get_loc("rhs") + 1, "label", "")  # the columns of the ML table
        ests.append(e.assign(level=lv))
    table = pd.DataFrame(rows)
    prev = table.shift(1)
    table.insert(
        table.columns.get_loc("p") + 1, "delta_cfi", table["cfi_scaled"] - prev["cfi_scaled"]
    )
    table.insert(
        table.columns.get_loc("delta_cfi") + 1,
        "delta_rmsea",
        table["rmsea_scaled"] - prev["rmsea_scaled"],
    )
    table["delta_df"] = table["delta_df"].astype(float)
    est = pd.concat(ests, ignore_index=True)
    est = est[["level", *[c for c in est.columns if c != "level"]]]
    groups = fits[levels[0]].groups
    notes = {
        "group": group,
        "groups": groups["group"].tolist(),
        "n_obs": groups["n_obs"].tolist(),
        "reference_group": groups["group"].iloc[0],
        "group_partial": list(group_partial),
        "estimator": "DWLS (WLSMV: robust standard errors, scaled-and-shifted test)",
    }
    return InvarianceResult(table, notes, estimates=est, fits=fits)


def _partial_class(term: str) -> str:
    """The group.equal class a group.partial term belongs to."""
    t = _norm(term)
    if "|" in t:
        return "thresholds"
    if t.endswith("~1") and "~~" not in t:
        return "intercepts"
    if "=~" in t:
        return "loadings"
    if "~~" in t:
        a, b = t.split("~~", 1)
        return "residuals" if a == b else "residual.covariances"
    return ""
