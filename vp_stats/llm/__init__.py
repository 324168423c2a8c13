
__all__ = ['backends', 'cache', 'calls', 'chat', 'parse', 'prompts', 'questionnaires', 'runfile', 'runner']  # fmt: skip
