"""Greeting used by the Kubeless dependency examples."""

__version__ = "1.0.0"


def greet(name="world"):
    return "hello %s from kubeless-greeting %s" % (name, __version__)
