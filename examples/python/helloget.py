# GET example: `kubeless function call get-python` answers "hello world".
def foo(event, context):
    return "hello world"
