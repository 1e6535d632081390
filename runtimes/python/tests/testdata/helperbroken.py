import brokenhelper


def handler(event, context):
    return 'never'
