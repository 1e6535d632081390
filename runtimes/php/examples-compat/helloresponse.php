<?php
// A function written for the original runtime, which gave functions its PSR-7
// response: it sets the status and headers through $event->extensions->response.

function foo($event, $context)
{
    $response = $event->extensions->response;
    $params = $event->extensions->request->getQueryParams();
    if (empty($params['name'])) {
        $response->getBody()->write("name is required\n");
        return $response->withStatus(400)->withHeader('X-Reason', 'missing name');
    }
    $response->withStatus(201)->withHeader('Location', '/greetings/' . $params['name']);
    return 'hello ' . $params['name'];
}
