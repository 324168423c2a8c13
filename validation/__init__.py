"""Simulations of vp-stats' operating characteristics (coverage, FDR, type I error)."""
