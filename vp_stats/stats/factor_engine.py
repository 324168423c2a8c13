"""One factor-analysis engine: extraction, rotation and Schmid-Leiman of a correlation matrix.

Everything here takes an items x items correlation matrix (a :class:`numpy.ndarray`) and returns
arrays; the table-facing statistics call it: :func:`vp_stats.stats.factor.efa` and
:func:`~vp_stats.stats.factor.parallel_analysis` (:func:`fit_efa`, :func:`extract`),
:func:`vp_stats.stats.reliability.omega_total` (:func:`one_factor_loadings`) and
:func:`~vp_stats.stats.reliability.omega_hierarchical` /
:func:`~vp_stats.stats.reliability.schmid_leiman` (:func:`schmid_leiman_fit`).

- :func:`smc` -- squared multiple correlations as ``psych::smc`` (the one start of every fit).
- :func:`extract`, :func:`rotate`, :func:`sign_and_order`, :func:`fit_efa` -- ``psych::fa``
  extraction (minres and ml by factor_analyzer, ``"pa"`` by :func:`principal_axis`), rotation
  (:class:`factor_analyzer.Rotator`) and psych's factor signs and order (see
  :mod:`vp_stats.stats.factor` for where factor_analyzer differs from psych and why).
- :func:`one_factor_loadings` -- a one-factor minres or ml fit solved to convergence.
- :func:`psych_minres`, :func:`psych_fa_varimax`, :func:`oblimin`, :func:`schmid_leiman_fit` --
  psych's own minres optimiser path, varimax, oblimin and the Schmid-Leiman solution of
  ``psych::schmid`` / ``psych::omega``.

Why two minres fits? :func:`fit_efa` (``psych::fa``, factor_analyzer's minres) agrees with psych
for interior solutions; the Schmid-Leiman solution of omega needs psych's optimiser path
(:func:`psych_minres` says why), and the one-factor omega a fit solved to convergence. They
share one :func:`smc`, one uniqueness bound :data:`PSI_BOUNDS` and one rotation code
(factor_analyzer's :class:`~factor_analyzer.Rotator`).

Examples
--------
>>> import numpy as np
>>> from vp_stats.stats import factor_engine
>>> lam = np.array([0.8, 0.7, 0.6, 0.5])
>>> r = np.outer(lam, lam); np.fill_diagonal(r, 1)
>>> np.round(factor_engine.smc(r), 4).tolist()
[0.416, 0.3566, 0.2716, 0.1919]
>>> np.round(factor_engine.one_factor_loadings(r)[0], 4).tolist()
[0.8, 0.7, 0.6, 0.5]
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import optimize

__all__ = [
    "PSI_BOUNDS",
    "PA_MIN_ERR",
    "PA_MAX_ITER",
    "PROMAX_POWER",
    "OBLIQUE_ROTATIONS",
    "smc",
    "principal_axis",
    "extract",
    "rotate",
    "sign_and_order",
    "fit_efa",
    "one_factor_loadings",
    "psych_minres",
    "psych_fa_varimax",
    "oblimin",
    "schmid_leiman_fit",
]

PSI_BOUNDS = (0.005, 1.0)  # uniqueness bounds of psych::fa and factanal
PA_MIN_ERR = 0.001  # psych::fa(min.err) for fm = "pa"
PA_MAX_ITER = 50  # psych::fa(max.iter)
PROMAX_POWER = 4  # psych::Promax(m)
OBLIQUE_ROTATIONS = ("oblimin", "promax")
_EPS = np.finfo(float).eps
_LBFGSB_FACTR = 1e7  # R optim's default factr: stop when f's relative reduction is <= factr * eps


def smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations as ``psych::smc``, the start of every fit here.

    ``1 - 1 / diag(Pinv(R))`` with psych's pseudo-inverse tolerance ``sqrt(eps)``, clipped to
    [0, 1].

    Examples
    --------
    >>> r = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> np.round(smc(r), 12).tolist()
    [0.25, 0.25]
    """
    out = 1 - 1 / np.diag(np.linalg.pinv(r, rcond=np.sqrt(_EPS)))
    return np.clip(out, 0.0, 1.0)


# --------------------------------------------------------------------------- psych::fa (EFA)


def principal_axis(r: np.ndarray, k: int, min_err: float = PA_MIN_ERR, max_iter: int = PA_MAX_ITER):
    """Iterated principal axis factoring exactly as ``psych::fa(fm = "pa")``.

    Start with the SMCs on the diagonal; repeat: loadings = first ``k``
    eigenvectors x sqrt(eigenvalues) of the reduced matrix, new diagonal =
    their row sums of squares; stop when the summed communalities change by
    less than ``min_err`` or after ``max_iter`` iterations.
    """
    rm = r.copy()
    np.fill_diagonal(rm, smc(r))
    comm = np.trace(rm)
    err, it, converged = comm, 1, True
    loadings = None
    while err > min_err:
        vals, vecs = np.linalg.eigh(rm)
        vals, vecs = vals[::-1][:k], vecs[:, ::-1][:, :k]
        if np.any(vals < 0):
            raise ValueError(
                "principal axis factoring met a negative eigenvalue of the reduced correlation "
                "matrix; use fewer factors or method 'minres'"
            )
        loadings = vecs * np.sqrt(vals)
        new = (loadings**2).sum(1)
        comm1 = new.sum()
        np.fill_diagonal(rm, new)
        err, comm = abs(comm - comm1), comm1
        it += 1
        if it > max_iter:
            converged = err <= min_err
            break
    return loadings, converged


def extract(r: np.ndarray, k: int, method: str) -> tuple[np.ndarray, bool]:
    """Unrotated loadings (items x k) and whether the estimation converged."""
    if method == "pa":
        return principal_axis(r, k)
    from factor_analyzer import FactorAnalyzer

    fa = FactorAnalyzer(
        n_factors=k,
        rotation=None,
        method=method,
        is_corr_matrix=True,
        use_smc=True,
        bounds=PSI_BOUNDS,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fa.fit(r.copy())
    failed = any("converge" in str(w.message) for w in caught)
    return np.asarray(fa.loadings_, dtype=float).reshape(r.shape[0], k), not failed


def rotate(loadings: np.ndarray, rotation: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Rotated loadings and the factor correlations (None for orthogonal rotations)."""
    if rotation == "none" or loadings.shape[1] < 2:
        return loadings, None
    from factor_analyzer import Rotator

    rot = Rotator(method=rotation, normalize=True, power=PROMAX_POWER)
    out = rot.fit_transform(loadings.copy())
    phi = rot.phi_ if rotation in OBLIQUE_ROTATIONS else None
    return np.asarray(out, dtype=float), (None if phi is None else np.asarray(phi, dtype=float))


def sign_and_order(loadings: np.ndarray, phi: np.ndarray | None):
    """psych's convention: column sums positive, factors in decreasing variance accounted for."""
    sign = np.sign(loadings.sum(0))
    sign[sign == 0] = 1
    loadings = loadings * sign
    if phi is not None:
        phi = phi * np.outer(sign, sign)
        ss = np.diag(phi @ loadings.T @ loadings)
    else:
        ss = (loadings**2).sum(0)
    order = np.argsort(-ss, kind="stable")
    loadings, ss = loadings[:, order], ss[order]
    if phi is not None:
        phi = phi[np.ix_(order, order)]
    return loadings, phi, ss


def fit_efa(r: np.ndarray, k: int, method: str, rotation: str):
    unrotated, converged = extract(r, k, method)
    h2 = (unrotated**2).sum(1)
    rotated, phi = rotate(unrotated, rotation)
    loadings, phi, ss = sign_and_order(rotated, phi)
    return loadings, phi, ss, h2, converged


# ----------------------------------------------------------------------- one factor, to convergence


def _minres_one_factor(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """psych's minres for one factor: off-diagonal least squares over bounded uniquenesses.

    For uniquenesses psi in [0.005, 1] the loadings are the first principal
    axis of R with 1 - psi on the diagonal; psi minimises the sum of squared
    off-diagonal residuals (``psych:::fit.residuals``). Solved with bounded
    Gauss-Newton (:func:`scipy.optimize.least_squares`, ``trf``) and the
    analytic derivative of the leading eigenpair.
    """
    k = r.shape[0]
    iu = np.triu_indices(k, 1)
    target = r[iu]

    def axis(psi):
        h = r.copy()
        np.fill_diagonal(h, 1 - psi)
        w, v = np.linalg.eigh(h)
        return w[::-1], v[:, ::-1]

    def resid(psi):
        w, v = axis(psi)
        lam = v[:, 0] * np.sqrt(max(w[0], 1e-300))
        return np.outer(lam, lam)[iu] - target

    def jac(psi):
        w, v = axis(psi)
        l1, v1 = max(w[0], 1e-300), v[:, 0]
        gap = l1 - w[1:]
        gap[np.abs(gap) < 1e-12] = 1e-12
        # d v1 / d psi_m = -v1_m * sum_j v_j v_j[m] / (l1 - l_j); d l1 / d psi_m = -v1_m^2
        dv = -(v[:, 1:] / gap) @ v[:, 1:].T * v1[None, :]
        dl1 = -(v1**2)
        dlam = v1[:, None] * dl1[None, :] / (2 * np.sqrt(l1)) + np.sqrt(l1) * dv
        lam = v1 * np.sqrt(l1)
        return dlam[iu[0]] * lam[iu[1], None] + lam[iu[0], None] * dlam[iu[1]]

    # Interior solutions: fit l directly (l l' to the off-diagonal; the optimum
    # is a principal-axis fixed point, hence psych's solution when 1 - l^2 lies
    # inside the bounds). Otherwise optimise over the bounded uniquenesses.
    w0, v0 = axis(np.clip(1 - smc(r), *PSI_BOUNDS))
    lam0 = v0[:, 0] * np.sqrt(max(w0[0], 1e-6))
    jrows = np.arange(len(target))

    def jac_l(lam):
        jm = np.zeros((len(target), k))
        jm[jrows, iu[0]] = lam[iu[1]]
        jm[jrows, iu[1]] = lam[iu[0]]
        return jm

    res_l = optimize.least_squares(
        lambda lam: np.outer(lam, lam)[iu] - target,
        lam0,
        jac=jac_l,
        method="lm",
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
    )
    psi_l = 1 - res_l.x**2
    if res_l.success and (psi_l > PSI_BOUNDS[0]).all():
        w, v = axis(psi_l)
        if np.abs(np.abs(v[:, 0] @ res_l.x) - np.sqrt(w[0])) < 1e-6 * max(1.0, np.sqrt(w[0])):
            return res_l.x, psi_l, True
    start = np.clip(1 - smc(r), PSI_BOUNDS[0] + 1e-6, PSI_BOUNDS[1] - 1e-6)
    res = optimize.least_squares(
        resid,
        start,
        jac=jac,
        bounds=PSI_BOUNDS,
        method="trf",
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-14,
        max_nfev=10_000,
    )
    w, v = axis(res.x)
    return v[:, 0] * np.sqrt(max(w[0], 0.0)), res.x, bool(res.status > 0)


def _ml_one_factor(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Maximum-likelihood one-factor fit over bounded uniquenesses (as factanal)."""
    k = r.shape[0]
    q = 1

    def eig(psi):
        sc = 1 / np.sqrt(psi)
        return np.linalg.eigh(r * np.outer(sc, sc))

    def fn(psi):
        e = eig(psi)[0][::-1][q:]
        return -(np.sum(np.log(e) - e) - q + k)

    def gr(psi):
        w, v = eig(psi)
        load = np.sqrt(psi) * v[:, -1] * np.sqrt(max(w[-1] - 1, 0))
        g = np.outer(load, load) + np.diag(psi) - r
        return np.diag(g) / psi**2

    start = np.clip(1 - smc(r), *PSI_BOUNDS)
    res = optimize.minimize(
        fn,
        start,
        jac=gr,
        method="L-BFGS-B",
        bounds=[PSI_BOUNDS] * k,
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000},
    )
    psi = res.x
    w, v = eig(psi)
    load = np.sqrt(psi) * v[:, -1] * np.sqrt(max(w[-1] - 1, 0))
    converged = bool(res.success) or np.max(np.abs(gr(psi) * (psi > PSI_BOUNDS[0] + 1e-9))) < 1e-6
    return load, psi, converged


def one_factor_loadings(corr: np.ndarray, method: str = "minres") -> tuple[np.ndarray, bool, bool]:
    """Loadings of a one-factor model fitted to a correlation matrix.

    Parameters
    ----------
    corr : array (k, k)
        Item correlation matrix (k >= 3).
    method : {"minres", "ml"}
        Minimum residual (least squares on the off-diagonal correlations,
        ``psych::fa`` default) or maximum likelihood (``factanal``).

    Returns
    -------
    loadings : ndarray (k,)
        Signed so that their sum is positive.
    converged : bool
    heywood : bool
        A fitted uniqueness sits at its lower bound 0.005 (a Heywood case).

    Examples
    --------
    >>> import numpy as np
    >>> lam = np.array([0.8, 0.7, 0.6, 0.5])
    >>> r = np.outer(lam, lam); np.fill_diagonal(r, 1)
    >>> l, ok, heywood = one_factor_loadings(r)
    >>> np.round(l, 6).tolist(), ok, heywood
    ([0.8, 0.7, 0.6, 0.5], True, False)
    """
    r = np.asarray(corr, dtype=float)
    if r.ndim != 2 or r.shape[0] != r.shape[1]:
        raise ValueError(f"corr must be a square matrix, got shape {r.shape}")
    if r.shape[0] < 3:
        raise ValueError(f"a one-factor model needs at least 3 items, got {r.shape[0]}")
    if not np.isfinite(r).all():
        raise ValueError("corr has NaN or infinite entries (a constant item?)")
    if method == "minres":
        lam, psi, ok = _minres_one_factor(r)
    elif method == "ml":
        lam, psi, ok = _ml_one_factor(r)
    else:
        raise ValueError(f"method must be 'minres' or 'ml', got {method!r}")
    if lam.sum() < 0:
        lam = -lam
    return lam, ok, bool((psi <= PSI_BOUNDS[0] + 1e-8).any())


# --------------------------------------------------------------------------- psych::schmid


def _top_eigen(m: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    w, v = np.linalg.eigh(m)
    return w[::-1][:q], v[:, ::-1][:, :q]


def psych_minres(corr: np.ndarray, n_factors: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Unrotated minres loadings exactly as ``psych::fa(r, n_factors, fm = "minres")`` (unrotated).

    psych minimises, over uniquenesses ``psi`` in ``[0.005, max(smc, 1)]``,
    the sum of squared lower-triangle residuals ``R - L L'`` where ``L`` holds
    the first ``n_factors`` principal axes of ``R`` with ``1 - psi`` on the
    diagonal (``psych:::fit.residuals``), with R's ``optim(method =
    "L-BFGS-B")`` started at ``1 - smc``, psych's gradient
    (``psych:::FAgr.minres``: the diagonal of ``L L' + Psi - R``), ``parscale
    = 0.01`` and R's defaults (``factr = 1e7``, ``pgtol = 0``, 5 correction
    pairs, at most 100 iterations). The same algorithm runs here through
    :func:`scipy.optimize.minimize` (L-BFGS-B) with the same objective,
    gradient, start, scaling and stopping rules; the loadings are then the
    principal axes at the final ``psi`` (``psych:::FAout.wls``), columns signed
    to positive sums, exact zeros set to 1e-15 (as ``psych::fa``).

    Why not :class:`factor_analyzer.FactorAnalyzer` (method "minres")? Its
    objective includes the diagonal residuals (psych's ``fm = "uls"``), its
    gradient is numerical and its optimiser settings differ: interior
    solutions agree, but in Heywood cases and in under-identified models
    (more factor parameters than correlations, e.g. 3 factors of 5 items) it
    stops at other solutions (tested: for the bfi Openness scale with 2
    factors it puts the Heywood case on item O5 instead of psych's O2,
    uniquenesses off by up to 0.76; omega_h measured 0.43 against psych's
    0.39). Its ``FactorAnalyzer(rotation="oblimin")`` also re-sorts the
    loadings without re-sorting ``phi_`` (tested), so the rotations are taken
    from :class:`factor_analyzer.Rotator` directly, which reproduces
    ``stats::varimax`` and ``GPArotation::oblimin`` (tested). Why not a fit solved to
    convergence (as :func:`one_factor_loadings`)? In those same cases the minimum is a flat
    valley or lies on the bound and psych's omega_h is where *psych's*
    optimiser stops: polishing psych's end point to convergence put 18 of the
    140 two- and three-factor fits of the Value Portrait item sets more than
    1e-3 from psych's omega_h (up to 0.025); the replicated path, 6 (up to
    0.015), all Heywood cases, where R's and scipy's L-BFGS-B (the Fortran
    code's versions 2.3 and 3.0) step differently along the bound (flagged
    ``heywood``).

    Parameters
    ----------
    corr : array (k, k)
        Correlation matrix.
    n_factors : int
        Number of factors, 1 <= n_factors < k.

    Returns
    -------
    loadings : ndarray (k, n_factors)
    psi : ndarray (k,)
        Fitted uniquenesses (``psi <= 0.005 + 1e-9``: a Heywood case).
    converged : bool
        The optimiser met its stopping rule (R's optim reports convergence 0);
        False after 100 iterations or on an abnormal line-search stop.

    Examples
    --------
    >>> import numpy as np
    >>> lam = np.array([0.8, 0.7, 0.6, 0.5])
    >>> r = np.outer(lam, lam); np.fill_diagonal(r, 1)
    >>> L, psi, ok = psych_minres(r, 1)
    >>> np.round(L[:, 0], 4).tolist(), ok
    ([0.8, 0.7, 0.6, 0.5], True)
    """
    r = np.asarray(corr, dtype=float)
    k = r.shape[0]
    if not 1 <= n_factors < k:
        raise ValueError(f"n_factors must be between 1 and {k - 1} for {k} items, got {n_factors}")
    il = np.tril_indices(k, -1)
    s0 = smc(r)
    upper = max(float(s0.max()), 1.0)
    parscale = 0.01

    def fit_and_gradient(y):
        # psych:::fit.residuals (fm = "minres") and psych:::FAgr.minres at the same psi: both
        # take the principal axes of R with 1 - psi on the diagonal (FAgr.minres: R - diag(psi),
        # the same matrix as diag(R) = 1), so one eigen-decomposition serves both
        psi = y * parscale
        s = r.copy()
        np.fill_diagonal(s, 1 - psi)
        w, v = _top_eigen(s, n_factors)
        load = v * np.sqrt(np.where(w < _EPS, 100 * _EPS, w))
        fit = float(np.sum((s - load @ load.T)[il] ** 2))
        load = v * np.sqrt(np.maximum(w, 0))
        grad = np.einsum("ij,ij->i", load, load) + psi - np.diag(r)
        return fit, grad * parscale

    res = optimize.minimize(
        fit_and_gradient,
        (1 - s0) / parscale,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.005 / parscale, upper / parscale)] * k,
        options={"maxcor": 5, "ftol": _LBFGSB_FACTR * _EPS, "gtol": 0.0, "maxiter": 100},
    )
    psi = res.x * parscale
    w, v = _top_eigen(r - np.diag(psi), n_factors)  # psych:::FAout.wls
    load = v * np.sqrt(np.maximum(w, 0))
    sign = np.sign(load.sum(axis=0))
    load = load * np.where(sign == 0, 1.0, sign)
    load[load == 0] = 1e-15
    return load, psi, bool(res.status == 0)


def psych_fa_varimax(r: np.ndarray, n_factors: int):
    """``psych::fa(r, n_factors, fm = "minres", rotate = "varimax")``: loadings, psi, converged.

    Varimax by :class:`factor_analyzer.Rotator` (Kaiser-normalised, the
    algorithm and stopping rule of ``stats::varimax``, eps 1e-5, at most 1000
    iterations as R), then psych's column signs (positive sums) and order
    (decreasing sums of squares).
    """
    load, psi, ok = psych_minres(r, n_factors)
    if n_factors > 1:
        from factor_analyzer import Rotator

        load = Rotator(method="varimax", normalize=True, max_iter=1000, tol=1e-5).fit_transform(
            load
        )
        sign = np.sign(load.sum(axis=0))
        load = load * np.where(sign == 0, 1.0, sign)
        order = np.argsort(-(load**2).sum(axis=0), kind="stable")
        load = load[:, order]
    return load, psi, ok


def oblimin(load: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """``GPArotation::oblimin(load)`` (gamma 0, quartimin): pattern, Phi, converged.

    :class:`factor_analyzer.Rotator` runs the same gradient-projection
    algorithm (Jennrich 2002; GPArotation's ``GPFoblq``: start at the
    identity, step doubling and halving, stop when the projected gradient norm
    is below 1e-5, at most 1000 iterations as GPArotation). Rotator does not
    report convergence, so the projected gradient is recomputed here at its
    solution (the criterion's gradient of ``GPArotation::vgQ.oblimin``).
    """
    from factor_analyzer import Rotator

    rot = Rotator(method="oblimin", max_iter=1000, tol=1e-5)
    pattern = rot.fit_transform(load)
    t = rot.rotation_
    l2 = pattern**2
    n_off = np.ones((load.shape[1],) * 2) - np.eye(load.shape[1])
    gq = pattern * (l2 @ n_off)
    g = -(pattern.T @ gq @ np.linalg.inv(t)).T
    gp = g - t @ np.diag(np.sum(t * g, axis=0))
    return pattern, rot.phi_, bool(np.sqrt(np.sum(gp**2)) < 1e-5)


def schmid_leiman_fit(corr: np.ndarray, n_factors: int = 3) -> dict:
    """Schmid-Leiman solution of a correlation matrix, as ``psych::schmid(r, n_factors)``.

    Steps (``psych::schmid``, fm = "minres", rotate = "oblimin"): ``n_factors``
    minres factors (:func:`psych_minres`), varimax, oblimin (pattern F, factor
    correlations Phi); general loadings of the oblique factors ``gload``: a
    one-factor minres fit of Phi (``psych::fa(Phi)``) for three or more
    factors; for two, psych's ``option = "equal"``: ``sqrt(|phi12|)`` and
    ``sign(phi12) sqrt(|phi12|)`` (the second-order factor of two correlated
    factors is not identified: psych says so and assumes equal loadings); for
    one factor ``gload = 1``. Then ``g = F gload``, group loadings
    ``sign(F) sqrt(max(F^2 - (F gload)^2, 0))`` column-wise, ``h2`` the row
    sums of squared orthogonal (varimax) loadings, ``u2 = 1 - h2``,
    ``p2 = g^2 / h2``.

    Parameters
    ----------
    corr : array (k, k)
        Correlation matrix (unit diagonal).
    n_factors : int
        Number of group factors, 1 <= n_factors < k.

    Returns
    -------
    dict
        ``g`` (k,), ``group`` (k, n_factors), ``h2``, ``u2``, ``p2`` (k,),
        ``pattern`` (oblique F), ``phi``, ``gload``, ``heywood`` (a
        uniqueness of the first- or second-order fit at 0.005),
        ``converged`` (minres and oblimin met their stopping rules) and
        ``dof`` (``((k - n_factors)^2 - (k + n_factors)) / 2``, negative when
        the factor model has more parameters than correlations).

    Examples
    --------
    >>> import numpy as np
    >>> lam = np.array([0.8, 0.7, 0.6, 0.5, 0.6, 0.7])
    >>> r = np.outer(lam, lam); np.fill_diagonal(r, 1)
    >>> sl = schmid_leiman_fit(r, 1)
    >>> np.round(sl["g"], 4).tolist()
    [0.8, 0.7, 0.6, 0.5, 0.6, 0.7]
    """
    r = np.asarray(corr, dtype=float)
    k = r.shape[0]
    orth, psi, ok = psych_fa_varimax(r, n_factors)
    heywood = bool((psi <= PSI_BOUNDS[0] + 1e-9).any())
    if n_factors == 1:
        pattern, phi, gload = orth, np.ones((1, 1)), np.ones(1)
    else:
        pattern, phi, rot_ok = oblimin(orth)
        ok = ok and rot_ok
        if n_factors == 2:
            p12 = phi[0, 1]
            gload = np.array([np.sqrt(abs(p12)), np.sign(p12) * np.sqrt(abs(p12))])
        else:
            gl, gpsi, g_ok = psych_minres(phi, 1)
            gload = gl[:, 0]
            ok = ok and g_ok
            heywood = heywood or bool((gpsi <= PSI_BOUNDS[0] + 1e-9).any())
    g = pattern @ gload
    uniq2 = np.clip(pattern**2 - (pattern * gload) ** 2, 0, None)  # diag(R) - uniq - primeload^2
    group = np.sign(pattern) * np.sqrt(uniq2)
    h2 = (orth**2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p2 = g**2 / h2
    return {
        "g": g,
        "group": group,
        "h2": h2,
        "u2": np.diag(r) - h2,
        "p2": p2,
        "pattern": pattern,
        "phi": phi,
        "gload": gload,
        "heywood": heywood,
        "converged": bool(ok),
        "dof": ((k - n_factors) ** 2 - (k + n_factors)) / 2,
    }
