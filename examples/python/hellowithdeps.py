# Dependency example: kubeless_greeting comes from requirements.txt, installed
# by pip when the function is built (here from the local wheel folder made by
# `make -C examples python-deps-src`).
import kubeless_greeting


def foo(event, context):
    data = event['data']
    name = data.get('name', 'world') if isinstance(data, dict) else 'world'
    return kubeless_greeting.greet(name)
