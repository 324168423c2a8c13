
__all__ = ['bfi', 'pvq', 'svo']  # fmt: skip
