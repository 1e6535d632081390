<?php
// Reference: the router script of a bare `php -S` server.
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    header('Content-Type: ' . ($_SERVER['CONTENT_TYPE'] ?? 'application/octet-stream'));
    echo file_get_contents('php://input');
} else {
    header('Content-Type: text/plain; charset=utf-8');
    echo 'hello world';
}
