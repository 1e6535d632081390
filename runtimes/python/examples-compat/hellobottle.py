# A function written for the original runtime, which served functions with
# Bottle: it sets the status and headers through the bottle module.
import bottle


def handler(event, context):
    name = bottle.request.query.get('name')
    if not name:
        raise bottle.HTTPResponse('name is required\n', status=400, headers={'X-Reason': 'missing name'})
    if name == 'teapot':
        bottle.response.status = 418
        bottle.response.set_header('X-Kind', 'teapot')
        return "I'm a teapot"
    if name == 'nobody':
        bottle.abort(404, 'no such person')
    return bottle.HTTPResponse({'hello': name}, status=201, headers={'Location': '/greetings/' + name})
