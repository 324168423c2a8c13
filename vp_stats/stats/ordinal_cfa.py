"""Ordinal CFA: DWLS on polychoric correlations and thresholds, as ``lavaan::cfa(ordered = TRUE)``.

Likert answers are ordered categories, not interval numbers. An ordinal CFA models each item as
a cut continuous normal response: the item's thresholds cut it into the categories, the latent
responses follow the factor model. :func:`ordinal_cfa` fits it the way lavaan does by default
(``estimator = "WLSMV"``, ``parameterization = "delta"``): three stages (Muthen 1984).

Statistics
----------
1. Thresholds of each item from its marginal proportions, ``tau_k = Phi^-1(P(y <= k))``, over
   the categories the item has in the data (lavaan's ``ov.levels``).
2. Polychoric correlation of each pair: the bivariate normal correlation maximising the pair's
   likelihood with both items' thresholds fixed at stage 1 (two-step ML, Olsson 1979).
3. The asymptotic covariance matrix ``Gamma`` of ``s = (thresholds, polychorics)``
   (lavaan's ``NACOV``, ``lavInspect(fit, "gamma")``), from the respondents' scores of the
   univariate and bivariate likelihoods: ``Gamma = N B^-1 (sum_i g_i g_i') B^-T`` with ``g_i``
   the scores and ``B`` the block-triangular matrix of their cross products (Muthen 1984;
   lavaan's ``muthen1984()``: thresholds block-diagonal per item, correlations diagonal, and the
   cross products of the correlation scores with the bivariate threshold scores).
4. DWLS estimates: minimise ``F = (s - sigma(theta))' W (s - sigma(theta))`` with
   ``W = diag(Gamma)^-1``; latent responses have variance 1 (delta parameterization), so the
   model's correlations are ``Lambda Psi Lambda'`` off the diagonal and its thresholds free
   (equal to the sample thresholds). Fitted by Gauss-Newton.
5. Robust standard errors: ``V = (D'WD)^-1 D'W Gamma W D (D'WD)^-1 / (N - 1)`` with ``D``
   the Jacobian of ``sigma`` (lavaan ``se = "robust.sem"``; lavaan divides by ``N - 1`` for
   the categorical estimators, and so does its test statistic).
6. Test statistics: ``chisq = (N - 1) F`` on ``df = len(s) - npar``; the mean-and-variance adjusted
   statistic (lavaan ``test = "scaled.shifted"``, Asparouhov & Muthen 2010):
   ``U = W - W D (D'WD)^-1 D'W``, ``a = sqrt(df / tr((U Gamma)^2))``,
   ``chisq_scaled = a chisq + df - a tr(U Gamma)``; ``chisq_scaling_factor = 1 / a``. The
   baseline model has the thresholds free and the correlations 0. ``cfi``/``tli`` and their
   ``_scaled`` versions from the (scaled) statistics as for ML; ``rmsea = sqrt(max(chisq - df,
   0) / (df (N - 1)))`` (lavaan uses ``N - 1`` here) and ``rmsea_scaled`` from the scaled
   statistic; ``srmr``: lavaan's ``srmr`` for categorical data, the root mean square of the
   correlation residuals below the diagonal (``crmr``-style, the diagonal is 1 - 1 = 0 and is
   left out).

Why hand-written: no Python package fits a CFA to ordinal items by DWLS/WLSMV (semopy has
``DWLS`` but neither polychoric correlations with their asymptotic covariance nor the scaled
test). The test suite checks every stage against lavaan 0.6.14 on psychTools' bfi.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> f = rng.standard_normal((1000, 1))
>>> lam = np.array([.8, .7, .6, .7])
>>> z = f * lam + rng.standard_normal((1000, 4)) * np.sqrt(1 - lam**2)
>>> x = pd.DataFrame(np.digitize(z, [-1, 0, 1]) + 1, columns=list("abcd"))
>>> res = ordinal_cfa(x, "F =~ a + b + c + d")
>>> res.table[["chisq", "df"]].round(2).to_dict("records")
[{'chisq': 0.43, 'df': 2}]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from vp_stats.errors import DataFormatError
from vp_stats.stats.cfa import _check_items, parse_model
from vp_stats.stats.factor import _bvn_cdf
from vp_stats.stats.resampling import single_threaded_blas
from vp_stats.tables import Result

__all__ = [
    "EQUALITIES",
    "LEVELS",
    "OrdinalMoments",
    "OrdinalCFAResult",
    "ordinal_moments",
    "ordinal_cfa",
    "ordinal_multigroup_cfa",
    "scaled_difference_test",
]

MAX_CATEGORIES = 10  # an "ordinal" item with more categories is refused
GRADIENT_TOL = 1e-8  # largest |dF/dtheta| (F is of order 1)
MAX_ITER = 200


@dataclass(frozen=True)
class OrdinalMoments:
    """Stage 1-3 of an ordinal CFA (:func:`ordinal_moments`).

    ``thresholds``: per item, its thresholds (array); ``levels``: per item, its categories;
    ``correlations``: polychoric correlation matrix (p, p); ``gamma``: the asymptotic
    covariance matrix of ``s`` (thresholds item by item, then the polychorics below the
    diagonal column by column, lavaan's order), scaled by N; ``s``: that vector; ``names``: its
    elements in lavaan's notation (``A1|t1``, ``A1~~A2``); ``n_obs``.
    """

    items: list
    levels: list
    thresholds: list
    correlations: np.ndarray
    gamma: np.ndarray
    s: np.ndarray
    names: list
    n_obs: int


def _phi2(x, y, rho):
    """Bivariate normal density, 0 where x or y is infinite."""
    out = np.zeros(np.broadcast(x, y).shape)
    fin = np.isfinite(x) & np.isfinite(y)
    xb, yb = np.broadcast_to(x, out.shape)[fin], np.broadcast_to(y, out.shape)[fin]
    r2 = 1.0 - rho * rho
    out[fin] = np.exp(-(xb * xb - 2 * rho * xb * yb + yb * yb) / (2 * r2)) / (
        2 * np.pi * np.sqrt(r2)
    )
    return out


def _cells(rho, t1, t2):
    """Cell probabilities, dP/drho, dP/dtau1 (K1-1, cells), dP/dtau2 (K2-1, cells)."""
    a = np.concatenate(([-np.inf], t1, [np.inf]))
    b = np.concatenate(([-np.inf], t2, [np.inf]))
    cdf = _bvn_cdf(a[:, None], b[None, :], rho)
    p = cdf[1:, 1:] - cdf[:-1, 1:] - cdf[1:, :-1] + cdf[:-1, :-1]
    pdf = _phi2(a[:, None], b[None, :], rho)
    dr = pdf[1:, 1:] - pdf[:-1, 1:] - pdf[1:, :-1] + pdf[:-1, :-1]
    s = np.sqrt(1.0 - rho * rho)
    k1, k2 = len(t1) + 1, len(t2) + 1
    # d/dx Phi2(x, y) = phi(x) Phi((y - rho x) / s)
    g1 = stats.norm.pdf(t1)[:, None] * special.ndtr((b[None, :] - rho * t1[:, None]) / s)
    g1 = g1[:, 1:] - g1[:, :-1]  # (K1-1, K2): for cell column b
    d1 = np.zeros((k1 - 1, k1, k2))
    for k in range(k1 - 1):
        d1[k, k, :] += g1[k]
        d1[k, k + 1, :] -= g1[k]
    g2 = stats.norm.pdf(t2)[:, None] * special.ndtr((a[None, :] - rho * t2[:, None]) / s)
    g2 = g2[:, 1:] - g2[:, :-1]  # (K2-1, K1)
    d2 = np.zeros((k2 - 1, k1, k2))
    for k in range(k2 - 1):
        d2[k, :, k] += g2[k]
        d2[k, :, k + 1] -= g2[k]
    return p, dr, d1, d2


def _polychoric(tab, t1, t2) -> float:
    """ML correlation of a contingency table with fixed thresholds (two-step)."""

    def nll(rho):
        p = _cells(rho, t1, t2)[0]
        ok = tab > 0
        return -float(np.sum(tab[ok] * np.log(np.maximum(p[ok], 1e-300))))

    res = optimize.minimize_scalar(
        nll, bounds=(-0.9999, 0.9999), method="bounded", options={"xatol": 1e-12}
    )
    rho = float(res.x)
    for _ in range(20):  # Newton polish on the score (bounded Brent stops near 1e-8)
        p, dr = _cells(rho, t1, t2)[:2]
        ok = tab > 0
        score = float(np.sum(tab[ok] * dr[ok] / p[ok]))
        info = float(np.sum(tab.sum() * dr[p > 0] ** 2 / p[p > 0]))
        if info <= 0:
            break
        step = score / info
        rho = float(np.clip(rho + step, -0.9999, 0.9999))
        if abs(step) < 1e-14:
            break
    return rho


def ordinal_moments(
    data: pd.DataFrame, *, source: str = "items", levels=None, where: str = ""
) -> OrdinalMoments:
    """Thresholds, polychoric correlations and their asymptotic covariance (stages 1-3).

    Parameters
    ----------
    data : DataFrame
        Respondents x ordinal items (integer categories), complete (no missing answer).
    source : str
        Name of the data in error messages.
    levels : list of arrays, optional
        The categories of each item (default: those in ``data``). A multi-group fit passes the
        categories of all groups; a category without an answer in ``data`` is then an error.
    where : str
        Said in error messages (e.g. ``" in group 'male'"``).

    Returns
    -------
    OrdinalMoments
    """
    given = levels
    x = data.to_numpy(dtype=float)
    n, p = x.shape
    items = [str(c) for c in data.columns]
    levels, codes, taus, sc_th, th_idx, names = [], [], [], [], [], []
    start = 0
    for j in range(p):
        col = x[:, j]
        if not np.all(col == np.round(col)):
            r = int(np.flatnonzero(col != np.round(col))[0])
            raise DataFormatError(
                source,
                f"row {data.index[r]!r}",
                items[j],
                f"{col[r]!r} is not an integer category: an ordinal item needs ordered "
                "integer answers",
            )
        lev = np.unique(col) if given is None else np.asarray(given[j], dtype=float)
        if given is not None:
            empty = [v for v in lev if not np.any(col == v)]
            if empty:
                raise DataFormatError(
                    source,
                    None,
                    items[j],
                    f"category {empty[0]:g} has no answer{where} (it has answers in another "
                    "group); merge it with a neighbouring category",
                )
        if len(lev) < 2:
            raise DataFormatError(
                source,
                None,
                items[j],
                f"has a single category{where}: no thresholds, no correlation",
            )
        if len(lev) > MAX_CATEGORIES:
            raise DataFormatError(
                source,
                None,
                items[j],
                f"has {len(lev)} distinct values; an ordinal item has at most "
                f"{MAX_CATEGORIES} categories (is it continuous?)",
            )
        code = np.searchsorted(lev, col)
        prop = np.bincount(code, minlength=len(lev)) / n
        tau = stats.norm.ppf(np.cumsum(prop)[:-1])
        # univariate scores of the thresholds: +phi(tau_k)/p_a if a == k, -phi/p_a if a == k+1
        dens = stats.norm.pdf(tau)
        sc = np.zeros((n, len(tau)))
        for k in range(len(tau)):
            sc[code == k, k] = dens[k] / prop[k]
            sc[code == k + 1, k] = -dens[k] / prop[k + 1]
        levels.append(lev)
        codes.append(code)
        taus.append(tau)
        sc_th.append(sc)
        th_idx.append(np.arange(start, start + len(tau)))
        start += len(tau)
        names += [f"{items[j]}|t{k + 1}" for k in range(len(tau))]
    n_th = start
    pairs = [(i, j) for j in range(p - 1) for i in range(j + 1, p)]  # lavaan's vech order
    sc_cor = np.zeros((n, len(pairs)))
    a21 = np.zeros((len(pairs), n_th))
    cor = np.eye(p)
    for q, (i, j) in enumerate(pairs):
        tab = np.zeros((len(taus[i]) + 1, len(taus[j]) + 1))
        np.add.at(tab, (codes[i], codes[j]), 1.0)
        rho = _polychoric(tab, taus[i], taus[j])
        cor[i, j] = cor[j, i] = rho
        pr, dr, d1, d2 = _cells(rho, taus[i], taus[j])
        pc = pr[codes[i], codes[j]]
        sc_cor[:, q] = dr[codes[i], codes[j]] / pc
        dth1 = d1[:, codes[i], codes[j]].T / pc[:, None]
        dth2 = d2[:, codes[i], codes[j]].T / pc[:, None]
        a21[q, th_idx[i]] = sc_cor[:, q] @ dth1
        a21[q, th_idx[j]] = sc_cor[:, q] @ dth2
        names.append(f"{items[j]}~~{items[i]}")
    sc_all = np.hstack([*sc_th, sc_cor])
    inner = sc_all.T @ sc_all
    a11 = np.zeros((n_th, n_th))
    for idx in th_idx:
        a11[np.ix_(idx, idx)] = inner[np.ix_(idx, idx)]
    a22 = np.sum(sc_cor * sc_cor, axis=0)
    a11_inv = np.linalg.inv(a11)
    a22_inv = np.diag(1.0 / a22)
    b_inv = np.block(
        [
            [a11_inv, np.zeros((n_th, len(pairs)))],
            [-a22_inv @ a21 @ a11_inv, a22_inv],
        ]
    )
    gamma = n * (b_inv @ inner @ b_inv.T)
    s = np.concatenate([*taus, np.array([cor[i, j] for i, j in pairs])])
    return OrdinalMoments(
        items=items,
        levels=levels,
        thresholds=taus,
        correlations=cor,
        gamma=gamma,
        s=s,
        names=names,
        n_obs=n,
    )


# --------------------------------------------------------------------------- the model

#: The parameter classes an ordinal multi-group CFA can hold equal (lavaan's names).
EQUALITIES = ("loadings", "thresholds", "residual.covariances")
#: Invariance levels of ordinal items (lavaan's group.equal); residual variances follow from the
#: model in the delta parameterization, so there is no "strict" level here.
LEVELS = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "thresholds"),
}


def _modifier(mod):
    if mod is None:
        return None, None
    try:
        return float(mod), None
    except ValueError:
        return None, str(mod)


def _norm(term: str) -> str:
    return "".join(term.split())


class _Model:
    """The parameter table of a (multi-group) ordinal CFA, delta parameterization.

    Per group: loadings ``Lambda``, factor (co)variances ``Psi``, residual covariances,
    thresholds ``tau``, latent means ``alpha`` and scaling factors ``delta``. Implied moments:
    thresholds ``delta_i (tau_ik - (Lambda alpha)_i)`` and correlations
    ``delta_i delta_j (Lambda Psi Lambda' + Theta)_ij`` (``i != j``). ``alpha`` is 0 and
    ``delta`` 1 in every group unless the thresholds are equal, when both are free outside the
    first group (lavaan's defaults).
    """

    def __init__(self, spec, source, n_thresholds, n_groups=1, equal=(), partial=()):
        from semopy.parser import parse_desc

        eff, _ = parse_desc(spec.description)
        if eff.get("~"):
            lhs = next(iter(eff["~"]))
            raise DataFormatError(
                source,
                f"line {spec.lines.get(lhs, '?')}",
                lhs,
                "regressions ('~') are not supported in an ordinal CFA",
            )
        self.items = list(spec.observed)
        self.factors = list(spec.factors)
        self.n_groups = n_groups
        self.n_th = list(n_thresholds)
        ii = {v: k for k, v in enumerate(self.items)}
        ff = {v: k for k, v in enumerate(self.factors)}
        equal = set(equal)
        partial = {_norm(t) for t in partial}
        base = []  # (matrix, i, j, lhs, op, rhs, fixed, label, class)
        for f, rhs_map in eff.get("=~", {}).items():
            for k, (item, mod) in enumerate(rhs_map.items()):
                if item in ff:
                    raise DataFormatError(
                        source, None, item, "second-order factors are not supported"
                    )
                fixed, label = _modifier(mod)
                if k == 0 and fixed is None:
                    fixed = 1.0
                base.append(("lambda", ii[item], ff[f], f, "=~", item, fixed, label, "loadings"))
        declared = set()
        for a, rhs_map in eff.get("~~", {}).items():
            for b, mod in rhs_map.items():
                fixed, label = _modifier(mod)
                if (a in ff) != (b in ff):
                    raise DataFormatError(
                        source, None, a, f"'{a} ~~ {b}': a covariance between a factor and an item"
                    )
                if a in ff:
                    i, j = sorted((ff[a], ff[b]))
                    base.append(("psi", j, i, a, "~~", b, fixed, label, "lv"))
                    declared.add(tuple(sorted((a, b))))
                else:
                    if a == b:
                        raise DataFormatError(
                            source,
                            None,
                            a,
                            f"'{a} ~~ {a}': residual variances of ordinal items follow from "
                            "the model (delta parameterization) and cannot be set",
                        )
                    i, j = sorted((ii[a], ii[b]))
                    base.append(("theta", j, i, a, "~~", b, fixed, label, "residual.covariances"))
        m = len(self.factors)
        for a in range(m):
            for b in range(a + 1):
                key = tuple(sorted((self.factors[a], self.factors[b])))
                if key not in declared:
                    base.append(
                        ("psi", a, b, self.factors[b], "~~", self.factors[a], None, None, "lv")
                    )
        for i, it in enumerate(self.items):
            for k in range(self.n_th[i]):
                base.append(("tau", i, k, it, "|", f"t{k + 1}", None, None, "thresholds"))
        free_means = "thresholds" in equal
        for f in self.factors:
            base.append(("alpha", ff[f], 0, f, "~1", "", 0.0, None, "means"))
        for i, it in enumerate(self.items):
            base.append(("delta", i, 0, it, "~*~", it, 1.0, None, "delta"))
        known = {_norm(f"{c[3]}{c[4]}{c[5]}") for c in base}
        known |= {_norm(f"{c[3]}~1") for c in base if c[4] == "~1"}
        for t in partial:
            if t not in known:
                raise DataFormatError(
                    source,
                    None,
                    "group_partial",
                    f"{t!r} names no parameter of the model (write e.g. 'A1 | t2' for a "
                    "threshold, 'F =~ A2' for a loading)",
                )
        self.cells, self.free, keys = [], [], {}
        for g in range(n_groups):
            for c in base:
                mat, i, j, lhs, op, rhs, fixed, label, cls = c
                if mat in ("alpha", "delta") and free_means and g > 0:
                    fixed = None
                self.cells.append((g, mat, i, j, lhs, op, rhs, fixed))
                if fixed is not None:
                    self.free.append(-1)
                    continue
                if label is not None:
                    key = ("label", label)
                elif cls in equal and _norm(f"{lhs}{op}{rhs}") not in partial:
                    key = ("equal", mat, i, j)
                else:
                    key = ("group", g, mat, i, j)
                keys.setdefault(key, len(keys))
                self.free.append(keys[key])
        self.n_free = len(keys)
        self.p, self.m = len(self.items), m
        self.pairs = [(i, j) for j in range(self.p - 1) for i in range(j + 1, self.p)]

    def matrices(self, theta):
        out = []
        for _ in range(self.n_groups):
            out.append(
                {
                    "lambda": np.zeros((self.p, self.m)),
                    "psi": np.zeros((self.m, self.m)),
                    "theta": np.zeros((self.p, self.p)),
                    "tau": np.zeros((self.p, max(self.n_th))),
                    "alpha": np.zeros((self.m, 1)),
                    "delta": np.ones((self.p, 1)),
                }
            )
        for (g, mat, i, j, *_rest, fixed), k in zip(self.cells, self.free, strict=True):
            v = fixed if k < 0 else theta[k]
            out[g][mat][i, j] = v
            if mat in ("psi", "theta"):
                out[g][mat][j, i] = v
        return out

    def moments(self, theta) -> list[np.ndarray]:
        """Per group the implied (thresholds, correlations below the diagonal)."""
        rows = np.array([i for i, _ in self.pairs], dtype=int)
        cols = np.array([j for _, j in self.pairs], dtype=int)
        res = []
        for mx in self.matrices(theta):
            lam, d = mx["lambda"], mx["delta"][:, 0]
            mu = (lam @ mx["alpha"])[:, 0]
            th = np.concatenate(
                [d[i] * (mx["tau"][i, : self.n_th[i]] - mu[i]) for i in range(self.p)]
            )
            c = lam @ mx["psi"] @ lam.T + mx["theta"]
            res.append(np.concatenate([th, (c * np.outer(d, d))[rows, cols]]))
        return res

    def jacobian(self, theta) -> list[np.ndarray]:
        """Per group d(moments)/dtheta by central differences.

        The moments are polynomials of degree at most 2 in each single parameter, so the
        central difference is exact up to rounding.
        """
        h = 1e-4
        k = len(theta)
        base = self.moments(theta)
        jac = [np.zeros((len(b), k)) for b in base]
        for q in range(k):
            up, dn = theta.copy(), theta.copy()
            up[q] += h
            dn[q] -= h
            for g, (a, b) in enumerate(zip(self.moments(up), self.moments(dn), strict=True)):
                jac[g][:, q] = (a - b) / (2 * h)
        return jac


# --------------------------------------------------------------------------- the fit


@dataclass(frozen=True)
class OrdinalCFAResult(Result):
    """An ordinal CFA (:func:`ordinal_cfa`, :func:`ordinal_multigroup_cfa`).

    ``table``: one row of fit measures ``n_obs, n_groups, npar, chisq, df, pvalue,
    chisq_scaled, pvalue_scaled, chisq_scaling_factor, chisq_shift, cfi, tli, rmsea,
    cfi_scaled, tli_scaled, rmsea_scaled, srmr, baseline_chisq, baseline_df,
    baseline_chisq_scaled, converged, status``. ``estimates``: ``group, lhs, op, rhs, free,
    estimate, se, z, p_value`` in lavaan's notation (``=~`` loadings, ``~~`` factor
    (co)variances and residual covariances, ``|`` thresholds ``t1``, ``t2`` ..., ``~1`` latent
    means, ``~*~`` scaling factors; residual variances ``1 / delta^2 - diag(Lambda Psi
    Lambda')`` with no standard error, as lavaan). ``moments``: one :class:`OrdinalMoments`
    per group; ``groups``: ``group, n_obs``.
    """

    estimates: pd.DataFrame = None
    moments: list = None
    groups: pd.DataFrame = None
    parts: dict = None  # the matrices of the robust tests (for scaled_difference_test)


def _prepare(data, model, source, data_source, extra=()):
    from vp_stats.stats.factor import item_frame

    spec = parse_model(model, source=source)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a DataFrame, got {type(data).__name__}")
    cols = [c for c in data.columns if c not in extra]
    x = item_frame(data[cols], source=data_source, min_items=1)
    x.columns = [str(c) for c in x.columns]
    _check_items(spec, x, source)
    return spec, x[spec.observed]


def ordinal_cfa(
    data: pd.DataFrame, model: str, *, source: str = "model", data_source: str = "items"
) -> OrdinalCFAResult:
    """Fit a CFA to ordinal items by DWLS, as ``lavaan::cfa(model, data, ordered = TRUE)``.

    Parameters
    ----------
    data : DataFrame
        Respondents x items (integer categories; respondents with a missing answer to a
        model item are left out, lavaan's listwise default). Other columns are ignored.
    model : str
        lavaan syntax (``=~``; ``~~`` between factors or a residual covariance of two items;
        numbers fix and labels equate parameters).
    source, data_source : str
        Names of the model and the data in error messages.

    Returns
    -------
    OrdinalCFAResult
        DWLS estimates with robust standard errors and the mean-and-variance adjusted
        (scaled and shifted) test, as lavaan's ``WLSMV``.

    Raises
    ------
    DataFormatError
        The model cannot be parsed, names a column the data lack, or is not identified; an
        item is not ordinal (non-integer answers or more than :data:`MAX_CATEGORIES`
        categories) or has one category.
    """
    spec, x = _prepare(data, model, source, data_source)
    xs = x.dropna(how="any")
    with single_threaded_blas():
        mom = ordinal_moments(xs, source=data_source)
        mdl = _Model(spec, source, [len(t) for t in mom.thresholds])
        return _fit(mdl, [mom], source, pd.DataFrame({"group": [None], "n_obs": [mom.n_obs]}))


def ordinal_multigroup_cfa(
    data: pd.DataFrame,
    model: str,
    group: str,
    *,
    group_equal=(),
    group_partial=(),
    source: str = "model",
    data_source: str = "items",
) -> OrdinalCFAResult:
    """Ordinal CFA in several groups, as ``lavaan::cfa(..., ordered=TRUE, group=, group.equal=)``.

    Parameters
    ----------
    data : DataFrame
        Respondents x ordinal items plus the ``group`` column (groups in the order of their
        first appearance, as lavaan; the first is the reference group).
    model : str
        lavaan syntax, as :func:`ordinal_cfa`.
    group : str
        The group column.
    group_equal : sequence of str
        Of :data:`EQUALITIES`. With ``"thresholds"`` the scaling factors (``~*~``) and latent
        means are free outside the first group (lavaan's default).
    group_partial : sequence of str
        Parameters freed from ``group_equal`` (``"A1 | t2"``, ``"F =~ A2"``).
    source, data_source : str
        Names of the model and the data in error messages.

    Returns
    -------
    OrdinalCFAResult

    Raises
    ------
    DataFormatError
        As :func:`ordinal_cfa`; also a category of an item with no answer in one group (the
        thresholds of the groups must cut the same categories), a group with too few
        respondents, fewer than two groups.
    """
    if isinstance(group_equal, str):
        group_equal = (group_equal,) if group_equal else ()
    bad = [e for e in group_equal if e not in EQUALITIES]
    if bad:
        raise DataFormatError(
            source, None, "group_equal", f"{bad[0]!r} is not one of {list(EQUALITIES)}"
        )
    if isinstance(group_partial, str):
        group_partial = (group_partial,)
    if group not in data.columns:
        raise DataFormatError(data_source, None, group, f"no group column {group!r} in the data")
    spec, x = _prepare(data, model, source, data_source, extra=(group,))
    x = x.assign(**{group: data[group].to_numpy()}).dropna(how="any")
    labels = list(pd.unique(x[group]))
    if len(labels) < 2:
        raise DataFormatError(
            data_source,
            None,
            group,
            f"an ordinal multi-group CFA needs at least 2 groups, got {len(labels)}",
        )
    levels = [np.unique(x[it].to_numpy(dtype=float)) for it in spec.observed]
    moms = []
    with single_threaded_blas():
        for lab in labels:
            sub = x[x[group] == lab]
            if len(sub) <= len(spec.observed):
                raise DataFormatError(
                    data_source,
                    f"row {sub.index[0]!r}",
                    group,
                    f"group {lab!r} has {len(sub)} respondent{'s' if len(sub) != 1 else ''} "
                    f"with every model item answered; it needs more than {len(spec.observed)}",
                )
            moms.append(
                ordinal_moments(
                    sub[spec.observed],
                    source=data_source,
                    levels=levels,
                    where=f" in group {lab!r}",
                )
            )
        mdl = _Model(
            spec,
            source,
            [len(t) for t in moms[0].thresholds],
            n_groups=len(labels),
            equal=group_equal,
            partial=group_partial,
        )
        groups = pd.DataFrame({"group": labels, "n_obs": [m.n_obs for m in moms]})
        res = _fit(mdl, moms, source, groups)
    notes = dict(res.notes, group_equal=list(group_equal), group_partial=list(group_partial))
    return OrdinalCFAResult(
        res.table, notes, estimates=res.estimates, moments=moms, groups=groups, parts=res.parts
    )


def _fit(mdl: _Model, moms: list, source: str, groups: pd.DataFrame) -> OrdinalCFAResult:
    G = len(moms)
    ns = np.array([m.n_obs for m in moms], dtype=float)
    n = float(ns.sum())
    # lavaan weighs the groups' discrepancies by N_g - 1 in the fit (and the statistic) but by
    # N_g in the information matrices of the standard errors and the scaled test
    frac_fit = (ns - 1) / (n - G)
    frac = ns / n
    s = [m.s for m in moms]
    w = [1.0 / np.diag(m.gamma) for m in moms]
    k = mdl.n_free
    n_s = sum(len(v) for v in s)
    df = n_s - k
    if df < 0:
        raise DataFormatError(
            source,
            None,
            None,
            f"the model is not identified: {k} free parameters for {n_s} thresholds and "
            f"correlations (df = {df})",
        )
    theta = _start(mdl, moms)

    def objective(t):
        return float(
            sum(
                fg * np.sum(wg * (sg - mg) ** 2)
                for fg, wg, sg, mg in zip(frac_fit, w, s, mdl.moments(t), strict=True)
            )
        )

    f = objective(theta)
    status = "ok"
    for _it in range(MAX_ITER):
        jac = mdl.jacobian(theta)
        mom = mdl.moments(theta)
        grad = np.zeros(k)
        h = np.zeros((k, k))
        for fg, wg, sg, mg, jg in zip(frac_fit, w, s, mom, jac, strict=True):
            grad += fg * jg.T @ (wg * (sg - mg))
            h += fg * jg.T @ (wg[:, None] * jg)
        if np.max(np.abs(grad)) < GRADIENT_TOL:
            break
        try:
            step = np.linalg.solve(h, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(h, grad, rcond=None)[0]
        t = 1.0
        while t > 1e-10:
            cand = theta + t * step
            fc = objective(cand)
            if fc <= f:
                break
            t /= 2
        else:
            break
        theta, f_old, f = cand, f, fc
        if f_old - f <= 1e-15 * f and np.max(np.abs(t * step)) < 1e-10:
            break
    else:
        status = f"not converged in {MAX_ITER} iterations"
    jac = mdl.jacobian(theta)
    mom = mdl.moments(theta)
    g_end = np.zeros(k)
    info = np.zeros((k, k))
    meat = np.zeros((k, k))
    for fg, ff, wg, sg, mg, jg, m in zip(frac, frac_fit, w, s, mom, jac, moms, strict=True):
        g_end += ff * jg.T @ (wg * (sg - mg))
        wd = wg[:, None] * jg
        info += fg * jg.T @ wd
        meat += fg * wd.T @ m.gamma @ wd
    if status == "ok" and np.max(np.abs(g_end)) > 1e-6:
        status = f"not converged (largest gradient {np.max(np.abs(g_end)):.2g})"
    ev = np.linalg.eigvalsh(info)
    if ev.min() <= 1e-10 * ev.max():
        raise DataFormatError(
            source,
            None,
            None,
            "the model is not identified: the DWLS information matrix is singular; fix a "
            "loading or a factor variance, or give each factor enough items",
        )
    info_inv = np.linalg.inv(info)
    vcov = info_inv @ meat @ info_inv / (n - G)  # lavaan: N - 1 per group
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    # statistics: each group's (N_g - 1) F_g, summed (lavaan's categorical test statistic)
    fg_all = [float(np.sum(wg * (sg - mg) ** 2)) for wg, sg, mg in zip(w, s, mom, strict=True)]
    chisq = float(np.sum((ns - 1) * fg_all))
    # U Gamma over the stacked groups: W_g weighted by N_g / N, Gamma_g by N / N_g
    wfull = np.concatenate([fg * wg for fg, wg in zip(frac, w, strict=True)])
    gam = _block([m.gamma / fg for m, fg in zip(moms, frac, strict=True)])
    dfull = np.vstack(jac)
    wdf = wfull[:, None] * dfull
    u = np.diag(wfull) - wdf @ info_inv @ wdf.T
    ug = u @ gam
    fit = _tests(chisq, df, np.trace(ug), float(np.sum(ug * ug.T)))
    # baseline: thresholds free, correlations 0, in every group
    n_ths = [sum(len(t) for t in m.thresholds) for m in moms]
    chisq_b = float(
        sum(
            (ng - 1) * np.sum(wg[nt:] * sg[nt:] ** 2)
            for ng, wg, sg, nt in zip(ns, w, s, n_ths, strict=True)
        )
    )
    df_b = G * len(mdl.pairs)
    wb = np.concatenate([fg * wg[nt:] for fg, wg, nt in zip(frac, w, n_ths, strict=True)])
    gb = _block([m.gamma[nt:, nt:] / fg for m, fg, nt in zip(moms, frac, n_ths, strict=True)])
    ugb = wb[:, None] * gb
    base = _tests(chisq_b, df_b, np.trace(ugb), float(np.sum(ugb * ugb.T)))
    fit.update(_comparative(fit, base, df, df_b, n, G))
    srmr = 0.0
    p = mdl.p
    for ng, m, mg, nt in zip(ns, moms, mom, n_ths, strict=True):
        res_c = m.s[nt:] - mg[nt:]
        srmr += ng * np.sqrt(np.sum(res_c**2) / (p * (p + 1) / 2))
    fit["srmr"] = float(srmr / n)  # the diagonal's residuals (1 - 1) are in the mean
    fit = {
        "n_obs": int(n),
        "n_groups": int(G),
        "npar": int(k),
        **fit,
        "baseline_chisq": chisq_b,
        "baseline_df": int(df_b),
        "baseline_chisq_scaled": base["chisq_scaled"],
        "converged": status == "ok",
        "status": status,
    }
    est = _estimates(mdl, theta, se, groups)
    parts = {
        "delta": jac,
        "w": w,
        "gamma": [m.gamma for m in moms],
        "frac": frac,
        "info": info,
    }
    return OrdinalCFAResult(
        pd.DataFrame([fit]),
        {"estimator": "DWLS", "test": "scaled.shifted", "se": "robust.sem"},
        estimates=est,
        moments=moms,
        groups=groups,
        parts=parts,
    )


def scaled_difference_test(free: OrdinalCFAResult, restricted: OrdinalCFAResult) -> dict:
    """The scaled-and-shifted chi-square difference test of two nested ordinal fits.

    Satorra (2000) with Asparouhov & Muthen's (2010) scale and shift, as lavaan's
    ``lavTestLRT(free, restricted)`` for WLSMV (``method = "satorra.2000"``, ``A.method =
    "delta"``): with ``D1``, ``D0`` the Jacobians of the two models' moments, ``A`` spans the
    orthogonal complement of ``pinv(D1) D0`` (the directions the restriction removes),
    ``P`` the free model's information, ``M = P^-1 A' (A P^-1 A')^+ A P^-1``,
    ``U = W D1 M D1' W`` and ``Gamma`` the asymptotic covariance (``N_g / N`` weighted):
    ``a = sqrt(m / tr((U Gamma)^2))``, ``T = a (chisq_0 - chisq_1) + m - a tr(U Gamma)`` on
    ``m = df_0 - df_1`` degrees of freedom.

    Returns
    -------
    dict
        ``delta_chisq`` (the scaled difference ``T``), ``delta_df``, ``p``.
    """
    p1, p0 = free.parts, restricted.parts
    t1, t0 = float(free.table.chisq.iloc[0]), float(restricted.table.chisq.iloc[0])
    m = int(restricted.table.df.iloc[0] - free.table.df.iloc[0])
    if m <= 0:
        return {"delta_chisq": t0 - t1, "delta_df": m, "p": np.nan}
    d1, d0 = np.vstack(p1["delta"]), np.vstack(p0["delta"])
    h = np.linalg.pinv(d1) @ d0
    u_, sv, _ = np.linalg.svd(h, full_matrices=True)
    rank = int(np.sum(sv > 1e-8 * max(sv.max(), 1e-300)))
    a = u_[:, rank:].T
    p_inv = np.linalg.inv(p1["info"])
    apa = a @ p_inv @ a.T
    mm = p_inv @ a.T @ np.linalg.pinv(apa) @ a @ p_inv
    frac = p1["frac"]
    v_all = np.concatenate(p1["w"])
    gam = _block([fg * g for fg, g in zip(frac, p1["gamma"], strict=True)])
    u = (v_all[:, None] * d1) @ mm @ (d1.T * v_all[None, :])
    ug = u @ gam
    tr1, tr2 = float(np.trace(ug)), float(np.sum(ug * ug.T))
    scale = np.sqrt(m / tr2)
    stat = (t0 - t1) * scale + m - scale * tr1
    return {"delta_chisq": float(stat), "delta_df": m, "p": float(stats.chi2.sf(stat, m))}


def _block(mats):
    size = sum(m.shape[0] for m in mats)
    out = np.zeros((size, size))
    at = 0
    for m in mats:
        out[at : at + m.shape[0], at : at + m.shape[0]] = m
        at += m.shape[0]
    return out


def _tests(chisq, df, tr1, tr2) -> dict:
    a = np.sqrt(df / tr2) if tr2 > 0 else np.nan
    shift = df - a * tr1
    scaled = a * chisq + shift
    return {
        "chisq": float(chisq),
        "df": int(df),
        "pvalue": float(stats.chi2.sf(chisq, df)) if df > 0 else np.nan,
        "chisq_scaled": float(scaled),
        "pvalue_scaled": float(stats.chi2.sf(scaled, df)) if df > 0 else np.nan,
        "chisq_scaling_factor": float(1 / a),
        "chisq_shift": float(shift),
    }


def _comparative(fit, base, df, df_b, n, n_groups) -> dict:
    out = {}
    for suffix, key in (("", "chisq"), ("_scaled", "chisq_scaled")):
        x2, xb = fit[key], base[key]
        t1, t2 = max(x2 - df, 0.0), max(x2 - df, xb - df_b, 0.0)
        out[f"cfi{suffix}"] = 1.0 if t2 == 0 else float(1 - t1 / t2)
        out[f"tli{suffix}"] = float((xb / df_b - x2 / df) / (xb / df_b - 1)) if df > 0 else 1.0
        out[f"rmsea{suffix}"] = (
            float(np.sqrt(n_groups) * np.sqrt(max(x2 - df, 0.0) / (df * (n - n_groups))))
            if df > 0
            else 0.0
        )
    return out


def _start(mdl: _Model, moms: list) -> np.ndarray:
    """Loadings from each factor's first principal axis of the polychoric matrix; thresholds
    the sample thresholds; averaged over the groups for parameters held equal."""
    sums = np.zeros(mdl.n_free)
    counts = np.zeros(mdl.n_free)
    ii = {v: k for k, v in enumerate(mdl.items)}
    fac_items = {f: [] for f in mdl.factors}
    for g, mat, _i, _j, lhs, _op, rhs, _fx in mdl.cells:
        if g == 0 and mat == "lambda":
            fac_items[lhs].append(rhs)
    for g, mom in enumerate(moms):
        lam_s, psi = {}, {}
        for f, its in fac_items.items():
            idx = [ii[i] for i in its]
            vals, vecs = np.linalg.eigh(mom.correlations[np.ix_(idx, idx)])
            v = vecs[:, -1] * np.sqrt(max(vals[-1], 1e-8))
            marker = v[0] if abs(v[0]) > 1e-6 else 1e-6
            for k, i in enumerate(idx):
                lam_s[(f, mdl.items[i])] = v[k] / marker
            psi[f] = min(marker**2, 0.95)
        for (cg, mat, i, j, lhs, _op, rhs, _fx), k in zip(mdl.cells, mdl.free, strict=True):
            if cg != g or k < 0:
                continue
            if mat == "lambda":
                val = lam_s.get((lhs, rhs), 0.5)
            elif mat == "psi":
                val = psi.get(lhs, 0.5) if lhs == rhs else 0.0
            elif mat == "tau":
                val = mom.thresholds[i][j]
            elif mat == "delta":
                val = 1.0
            else:
                val = 0.0
            sums[k] += val
            counts[k] += 1
    return sums / np.maximum(counts, 1)


def _estimates(mdl, theta, se, groups) -> pd.DataFrame:
    rows = []
    mats = mdl.matrices(theta)
    labels = list(groups["group"])
    for (g, _mat, _i, _j, lhs, op, rhs, fixed), k in zip(mdl.cells, mdl.free, strict=True):
        est = fixed if k < 0 else theta[k]
        rows.append((labels[g], lhs, op, rhs, int(k + 1), float(est), np.nan if k < 0 else se[k]))
    for g, mx in enumerate(mats):
        lam, psi, d = mx["lambda"], mx["psi"], mx["delta"][:, 0]
        resid = 1.0 / d**2 - np.diag(lam @ psi @ lam.T)
        for i, it in enumerate(mdl.items):
            rows.append((labels[g], it, "~~", it, 0, float(resid[i]), np.nan))
    est = pd.DataFrame(rows, columns=["group", "lhs", "op", "rhs", "free", "estimate", "se"])
    est["z"] = est.estimate / est.se
    est["p_value"] = 2 * stats.norm.sf(est.z.abs())
    if len(labels) == 1:
        est = est.drop(columns="group")
    return est
