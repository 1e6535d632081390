"""Functions exercising the Python runtime's function API (tests only)."""
import asyncio
import os
import sys
import threading
import time

import kubeless

CONSTANT = 5
calls = 0


def text(event, context):
    return 'hi'


def bytes_(event, context):
    return b'\x00\x01binary'


def dict_(event, context):
    return {'a': 1, 'b': [True, None]}


def list_(event, context):
    return [1, 'x']


def int_(event, context):
    return 42


def float_(event, context):
    return 1.5


def bool_(event, context):
    return True


def none(event, context):
    return None


def tuple_(event, context):
    return (1, 2)


def bytearray_(event, context):
    return bytearray(b'ab')


def obj(event, context):
    return object()


def created(event, context):
    return kubeless.Response('made', status=201, headers={'X-A': 1, 'X-Multi': ['a', 'b']})


def custom_type(event, context):
    return kubeless.Response('<b>hi</b>', headers=[('content-type', 'text/html')])


def resp_json(event, context):
    return kubeless.Response({'ok': True}, status=202)


def resp_none(event, context):
    return kubeless.Response(status=204)


def bad_status(event, context):
    return kubeless.Response('x', status='200')


def bad_header(event, context):
    return kubeless.Response('x', headers={'X-Bad': 'a\r\nb'})


def gen(event, context):
    yield 'a'
    yield b'b'
    yield 'c'


def gen_fail(event, context):
    yield 'a'
    raise RuntimeError('mid-stream')


def gen_first_fail(event, context):
    raise RuntimeError('before any chunk')
    yield 'never'


def gen_empty(event, context):
    return
    yield


def resp_stream(event, context):
    def chunks():
        yield 'data: 1\n\n'
        yield 'data: 2\n\n'
    return kubeless.Response(chunks(), status=206, headers={'Content-Type': 'text/event-stream'})


async def async_hello(event, context):
    await asyncio.sleep(0)
    return 'async hi'


async def async_sleep(event, context):
    data = event['data']
    await asyncio.sleep(data.get('seconds', 0.3) if isinstance(data, dict) else 0.3)
    return 'slept %s' % event['event-id']


async def async_fail(event, context):
    await asyncio.sleep(0)
    raise ValueError('async boom')


_barriers = {}
_barriers_lock = threading.Lock()


def _barrier(parties):
    with _barriers_lock:
        return _barriers.setdefault(parties, threading.Barrier(parties, timeout=10))


def meet(event, context):
    """Returns once data.parties invocations are inside it at the same time;
    fails (BrokenBarrierError) after 10 s if they never are."""
    _barrier(event['data']['parties']).wait()
    return 'met %s' % event['event-id']


async def async_meet(event, context):
    """meet for coroutines: they must share one event loop to meet."""
    parties = event['data']['parties']
    with _barriers_lock:
        barrier = _barriers.setdefault(('async', parties), asyncio.Barrier(parties))
    await asyncio.wait_for(barrier.wait(), 10)
    return 'met %s' % event['event-id']


def sleep_(event, context):
    data = event['data']
    time.sleep(data.get('seconds', 0.3) if isinstance(data, dict) else 0.3)
    return 'slept %s' % event['event-id']


def identity(event, context):
    return {
        'same': kubeless is sys.modules['__main__'],
        'response': kubeless.Response.__name__,
        'main_name': sys.modules['kubeless'].__name__,
    }


def sysexit(event, context):
    sys.exit(3)


def keyerror(event, context):
    return {}['missing']


def multiline(event, context):
    raise ValueError('line1\nline2')


def counter(event, context):
    global calls
    calls += 1
    return calls


def sibling_value(event, context):
    import sibling
    return sibling.VALUE


def dep(event, context):
    import fakedep
    return fakedep.NAME


def noargs():
    return 'no args'


def onearg(event):
    return event['event-id']


def threeargs(event, context, extra):
    return 'never'


def sleep_print(event, context):
    # Prints, then blocks until the test creates the file named in the data
    # (at most 30 s): output seen before that file exists was not buffered.
    print('start %s' % event['event-id'])
    deadline = time.monotonic() + 30
    while not os.path.exists(event['data']['release']) and time.monotonic() < deadline:
        time.sleep(0.01)
    sys.stderr.write('to stderr\n')
    return 'ok'


def paths(event, context):
    return {'path': sys.path, 'cwd': os.getcwd()}


def bottle_response(event, context):
    import bottle
    return bottle.HTTPResponse(body='teapot', status=418, headers={'X-T': '1'})


def bottle_error(event, context):
    import bottle
    raise bottle.HTTPError(403, 'forbidden here')


def inspect_event(event, context):
    req = event['extensions']['request']
    data = event['data']
    return {
        'data-type': type(data).__name__,
        'data': data if not isinstance(data, bytes) else data.decode('latin-1'),
        'event-id': event['event-id'],
        'event-type': event['event-type'],
        'event-time': event['event-time'],
        'event-namespace': event['event-namespace'],
        'keys': sorted(event),
        'extensions': sorted(event['extensions']),
        'context': context,
        'method': req.method,
        'path': req.path,
        'query_string': req.query_string,
        'query': dict(req.query),
        'query_all': req.query.getall('a'),
        'query_attr': req.query.greeting,
        'query_missing_attr': req.query.nothing,
        'header_lower': req.get_header('x-custom'),
        'header_upper': req.get_header('X-CUSTOM'),
        'header_default': req.get_header('X-Absent', 'dflt'),
        'header_multi': req.headers.get('X-Multi'),
        'header_all': req.headers.getall('x-multi'),
        'in_headers': 'x-custom' in req.headers,
        'body': req.body.decode('latin-1'),
        'body_is_bytes': isinstance(req.body, bytes),
        'body_read': req.body.read().decode('latin-1'),
        'json': req.json,
        'content_type': req.content_type,
        'content_length': req.content_length,
        'remote_addr': req.remote_addr,
        'url': req.url,
        'cookies': dict(req.cookies),
        'environ_method': req.environ['REQUEST_METHOD'],
        'environ_custom': req.environ.get('HTTP_X_CUSTOM'),
        'repr': repr(req),
    }


def forms(event, context):
    req = event['extensions']['request']
    upload = req.files.get('upload')
    out = {'forms': dict(req.forms), 'params': dict(req.params)}
    if upload is not None:
        out['file'] = {'name': upload.name, 'filename': upload.filename, 'raw_filename': upload.raw_filename,
                       'content': upload.file.read().decode(), 'content_type': upload.content_type}
    return out


def mutate_context(event, context):
    seen = context.get('seen')
    context['seen'] = True
    return {'seen-before': seen}
