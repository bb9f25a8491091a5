"""Progress bars that suit a terminal, a notebook and a log file alike."""

import sys


def progress_bar(iterable, *, desc, total=None, enabled=True, unit="it"):
    """Wrap ``iterable`` in a progress bar (tqdm's notebook bar in Jupyter).

    Parameters
    ----------
    iterable : iterable
    desc : str
        What is being done, shown left of the bar.
    total : int or None
        Length, when ``iterable`` has none.
    enabled : bool
        False returns ``iterable`` unchanged.
    unit : str
    """
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr, leave=True)


def format_duration(seconds):
    """A duration in words: ``"0.35 s"``, ``"45 s"``, ``"2 min"``, ``"1 h 30 min"``."""
    if 0.05 <= seconds < 10:  # short budgets and epochs: "1.8 s", not "2 s"
        return f"{seconds:.2g} s"
    seconds = round(max(0.0, seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 600:
        return f"{round(seconds / 60, 1):g} min"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"
