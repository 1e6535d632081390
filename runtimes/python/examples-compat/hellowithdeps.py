from hellowithdepshelper import foo  # noqa: F401 (the handler lives in a sibling file)
