"""pmempolicy: how Linux gives persistent memory its struct pages, modelled and checked."""

__all__ = ["__version__"]

# the one place the version is written: setup.cfg reads it (``version = attr:``), and
# ``pmempolicy --version`` prints it without importlib.metadata (~25 ms at every start-up)
__version__ = "0.1.0"
