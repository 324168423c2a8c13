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

__all__ = ["OrdinalMoments", "OrdinalCFAResult", "ordinal_moments", "ordinal_cfa"]

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


def ordinal_moments(data: pd.DataFrame, *, source: str = "items") -> OrdinalMoments:
    """Thresholds, polychoric correlations and their asymptotic covariance (stages 1-3).

    Parameters
    ----------
    data : DataFrame
        Respondents x ordinal items (integer categories), complete (no missing answer).

    Returns
    -------
    OrdinalMoments
    """
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
        lev = np.unique(col)
        if len(lev) < 2:
            raise DataFormatError(
                source, None, items[j], "has a single category: no thresholds, no correlation"
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


class _Model:
    """Loadings, factor (co)variances and residual covariances of a one-group ordinal CFA."""

    def __init__(self, spec, source):
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
        ii = {v: k for k, v in enumerate(self.items)}
        ff = {v: k for k, v in enumerate(self.factors)}
        self.cells = []  # (matrix, i, j, lhs, op, rhs, fixed, label)
        for f, rhs_map in eff.get("=~", {}).items():
            for k, (item, mod) in enumerate(rhs_map.items()):
                if item in ff:
                    raise DataFormatError(
                        source, None, item, "second-order factors are not supported"
                    )
                fixed, label = _modifier(mod)
                if k == 0 and fixed is None:
                    fixed = 1.0
                self.cells.append(("lambda", ii[item], ff[f], f, "=~", item, fixed, label))
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
                    self.cells.append(("psi", j, i, a, "~~", b, fixed, label))
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
                    self.cells.append(("theta", j, i, a, "~~", b, fixed, label))
        m = len(self.factors)
        for a in range(m):
            for b in range(a + 1):
                key = tuple(sorted((self.factors[a], self.factors[b])))
                if key not in declared:
                    self.cells.append(
                        ("psi", a, b, self.factors[b], "~~", self.factors[a], None, None)
                    )
        keys, self.free = {}, []
        for c in self.cells:
            if c[6] is not None:
                self.free.append(-1)
                continue
            key = ("label", c[7]) if c[7] is not None else ("cell", c[0], c[1], c[2])
            keys.setdefault(key, len(keys))
            self.free.append(keys[key])
        self.n_free = len(keys)
        self.p, self.m = len(self.items), m

    def matrices(self, theta):
        lam = np.zeros((self.p, self.m))
        psi = np.zeros((self.m, self.m))
        th = np.zeros((self.p, self.p))
        for c, k in zip(self.cells, self.free, strict=True):
            v = c[6] if k < 0 else theta[k]
            mat = {"lambda": lam, "psi": psi, "theta": th}[c[0]]
            mat[c[1], c[2]] = v
            if c[0] != "lambda":
                mat[c[2], c[1]] = v
        return lam, psi, th

    def sigma(self, theta):
        lam, psi, th = self.matrices(theta)
        return lam @ psi @ lam.T + th

    def jacobian(self, theta, pairs):
        """d(model correlations below the diagonal)/dtheta, (len(pairs), n_free)."""
        lam, psi, _ = self.matrices(theta)
        lp = lam @ psi
        rows = np.array([i for i, _ in pairs])
        cols = np.array([j for _, j in pairs])
        jac = np.zeros((len(pairs), self.n_free))
        for c, k in zip(self.cells, self.free, strict=True):
            if k < 0:
                continue
            mat, i, j = c[0], c[1], c[2]
            d = np.zeros((self.p, self.p))
            if mat == "lambda":
                d[i, :] += lp[:, j]
                d[:, i] += lp[:, j]
            elif mat == "psi":
                a = np.outer(lam[:, i], lam[:, j])
                d += a if i == j else a + a.T
            else:
                d[i, j] += 1.0
                d[j, i] += 1.0
            jac[:, k] += d[rows, cols]
        return jac


def _modifier(mod):
    if mod is None:
        return None, None
    try:
        return float(mod), None
    except ValueError:
        return None, str(mod)


# --------------------------------------------------------------------------- the fit


@dataclass(frozen=True)
class OrdinalCFAResult(Result):
    """An ordinal CFA (:func:`ordinal_cfa`).

    ``table``: one row of fit measures ``n_obs, npar, chisq, df, pvalue, chisq_scaled,
    pvalue_scaled, chisq_scaling_factor, chisq_shift, baseline_chisq, baseline_df,
    baseline_chisq_scaled, cfi, tli, rmsea, cfi_scaled, tli_scaled, rmsea_scaled, srmr,
    converged, status``. ``estimates``: ``lhs, op, rhs, estimate, se, z, p_value`` in lavaan's
    notation (``=~`` loadings, ``~~`` factor (co)variances and residual covariances, ``|``
    thresholds ``t1``, ``t2`` ...; residual variances ``1 - diag(Lambda Psi Lambda')`` with no
    standard error, as lavaan). ``moments``: :class:`OrdinalMoments`.
    """

    estimates: pd.DataFrame = None
    moments: OrdinalMoments = None


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
        lavaan syntax (``=~``; ``~~`` between factors or a residual covariance of two items).
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
    from vp_stats.stats.factor import item_frame

    spec = parse_model(model, source=source)
    x = item_frame(data, source=data_source, min_items=1)
    x.columns = [str(c) for c in x.columns]
    _check_items(spec, x, source)
    xs = x[spec.observed].dropna(how="any")
    mdl = _Model(spec, source)
    with single_threaded_blas():
        mom = ordinal_moments(xs, source=data_source)
        return _fit(mdl, mom, source)


def _fit(mdl: _Model, mom: OrdinalMoments, source: str) -> OrdinalCFAResult:
    p = mdl.p
    n = mom.n_obs
    n_th = sum(len(t) for t in mom.thresholds)
    pairs = [(i, j) for j in range(p - 1) for i in range(j + 1, p)]
    r = mom.s[n_th:]
    gamma = mom.gamma
    w_all = 1.0 / np.diag(gamma)
    w = w_all[n_th:]
    df = len(mom.s) - (n_th + mdl.n_free)
    if df < 0:
        raise DataFormatError(
            source,
            None,
            None,
            f"the model is not identified: {n_th + mdl.n_free} free parameters for "
            f"{len(mom.s)} thresholds and correlations (df = {df})",
        )
    theta = _start(mdl, mom)
    rows = np.array([i for i, _ in pairs])
    cols = np.array([j for _, j in pairs])

    def resid(t):
        return r - mdl.sigma(t)[rows, cols]

    f = float(np.sum(w * resid(theta) ** 2))
    status = "ok"
    for _it in range(MAX_ITER):
        jac = mdl.jacobian(theta, pairs)
        e = resid(theta)
        grad = -2 * jac.T @ (w * e)
        if np.max(np.abs(grad)) < GRADIENT_TOL:
            break
        h = jac.T @ (w[:, None] * jac)
        try:
            step = np.linalg.solve(h, jac.T @ (w * e))
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(h, jac.T @ (w * e), rcond=None)[0]
        t = 1.0
        while t > 1e-10:
            cand = theta + t * step
            fc = float(np.sum(w * resid(cand) ** 2))
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
    g_end = float(np.max(np.abs(-2 * mdl.jacobian(theta, pairs).T @ (w * resid(theta)))))
    if status == "ok" and g_end > 1e-6:
        status = f"not converged (largest gradient {g_end:.2g})"
    jac_c = mdl.jacobian(theta, pairs)
    # the full Jacobian over s: thresholds (identity) then correlations
    k = n_th + mdl.n_free
    delta = np.zeros((len(mom.s), k))
    delta[:n_th, :n_th] = np.eye(n_th)
    delta[n_th:, n_th:] = jac_c
    wd = w_all[:, None] * delta
    info = delta.T @ wd
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
    vcov = info_inv @ (wd.T @ gamma @ wd) @ info_inv / (n - 1)  # lavaan: N - 1 here too
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    # tests
    chisq = (n - 1) * f  # lavaan's statistic for the categorical estimators uses N - 1
    u = np.diag(w_all) - wd @ info_inv @ wd.T
    ug = u @ gamma
    tr1, tr2 = np.trace(ug), np.sum(ug * ug.T)
    fit = _tests(chisq, df, tr1, tr2, n)
    wb = w_all[n_th:]
    chisq_b = (n - 1) * float(np.sum(wb * r**2))
    df_b = len(pairs)
    ugb = wb[:, None] * gamma[n_th:, n_th:]
    base = _tests(chisq_b, df_b, np.trace(ugb), np.sum(ugb * ugb.T), n)
    fit.update(_comparative(fit, base, df, df_b, n))
    sig = mdl.sigma(theta)
    res_c = (mom.correlations - sig)[rows, cols]
    # lavaan's srmr: the p (p + 1) / 2 elements of the lower triangle, the diagonal (0) included
    fit["srmr"] = float(np.sqrt(np.sum(res_c**2) / (p * (p + 1) / 2)))
    fit = {
        "n_obs": int(n),
        "npar": int(k),
        **fit,
        "baseline_chisq": float(chisq_b),
        "baseline_df": int(df_b),
        "baseline_chisq_scaled": base["chisq_scaled"],
        "converged": status == "ok",
        "status": status,
    }
    est = _estimates(mdl, mom, theta, se[n_th:], se[:n_th])
    return OrdinalCFAResult(
        pd.DataFrame([fit]),
        {"estimator": "DWLS", "test": "scaled.shifted", "se": "robust.sem"},
        estimates=est,
        moments=mom,
    )


def _tests(chisq, df, tr1, tr2, n) -> dict:
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


def _comparative(fit, base, df, df_b, n) -> dict:
    out = {}
    for suffix, key in (("", "chisq"), ("_scaled", "chisq_scaled")):
        x2, xb = fit[key], base[key]
        t1, t2 = max(x2 - df, 0.0), max(x2 - df, xb - df_b, 0.0)
        out[f"cfi{suffix}"] = 1.0 if t2 == 0 else float(1 - t1 / t2)
        out[f"tli{suffix}"] = float((xb / df_b - x2 / df) / (xb / df_b - 1)) if df > 0 else 1.0
        out[f"rmsea{suffix}"] = (
            float(np.sqrt(max(x2 - df, 0.0) / (df * (n - 1)))) if df > 0 else 0.0
        )
    return out


def _start(mdl: _Model, mom: OrdinalMoments) -> np.ndarray:
    """Loadings from each factor's first principal axis of the polychoric matrix."""
    theta = np.zeros(mdl.n_free)
    ii = {v: k for k, v in enumerate(mdl.items)}
    idx_of = {
        f: [ii[i] for i in its] for f, its in zip(mdl.factors, _factor_items(mdl), strict=True)
    }
    lam_s, psi = {}, {}
    for f, idx in idx_of.items():
        vals, vecs = np.linalg.eigh(mom.correlations[np.ix_(idx, idx)])
        v = vecs[:, -1] * np.sqrt(max(vals[-1], 1e-8) / max(len(idx), 1))
        v = v * np.sqrt(len(idx))
        marker = v[0] if abs(v[0]) > 1e-6 else 1e-6
        for k, i in enumerate(idx):
            lam_s[(f, mdl.items[i])] = v[k] / marker
        psi[f] = min(marker**2, 0.95)
    for c, k in zip(mdl.cells, mdl.free, strict=True):
        if k < 0:
            continue
        if c[0] == "lambda":
            theta[k] = lam_s.get((c[3], c[5]), 0.5)
        elif c[0] == "psi":
            theta[k] = psi.get(c[3], 0.5) if c[3] == c[5] else 0.0
    return theta


def _factor_items(mdl: _Model):
    out = {f: [] for f in mdl.factors}
    for c in mdl.cells:
        if c[0] == "lambda":
            out[c[3]].append(c[5])
    return [out[f] for f in mdl.factors]


def _estimates(mdl, mom, theta, se_free, se_th) -> pd.DataFrame:
    rows = []
    for c, k in zip(mdl.cells, mdl.free, strict=True):
        est = c[6] if k < 0 else theta[k]
        se = np.nan if k < 0 else se_free[k]
        rows.append((c[3], c[4], c[5], est, se))
    lam, psi, th = mdl.matrices(theta)
    resid = 1.0 - np.diag(lam @ psi @ lam.T)
    for i, it in enumerate(mdl.items):
        rows.append((it, "~~", it, float(resid[i]), np.nan))
    q = 0
    for it, tau in zip(mom.items, mom.thresholds, strict=True):
        for k, t in enumerate(tau):
            rows.append((it, "|", f"t{k + 1}", float(t), float(se_th[q])))
            q += 1
    est = pd.DataFrame(rows, columns=["lhs", "op", "rhs", "estimate", "se"])
    est["z"] = est.estimate / est.se
    est["p_value"] = 2 * stats.norm.sf(est.z.abs())
    return est
