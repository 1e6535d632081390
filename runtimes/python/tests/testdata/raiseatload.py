def prepare():
    raise RuntimeError('cannot prepare the model')


MODEL = prepare()  # line 5


def handler(event, context):
    return 'never'
