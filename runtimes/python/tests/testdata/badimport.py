import os

import no_such_dependency_xyz  # line 3


def handler(event, context):
    return 'never'
