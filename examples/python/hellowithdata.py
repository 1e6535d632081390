# POST example: prints the event (see `kubeless function logs post-python`)
# and answers the request body. A JSON body arrives parsed, so
# `kubeless function call post-python --data '{"it-s": "alive"}'` answers
# {"it-s": "alive"}.
def handler(event, context):
    print(event)
    return event['data']
