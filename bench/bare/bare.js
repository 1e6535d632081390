// Reference: a bare Node.js http server.
const http = require('node:http');
http.createServer((req, res) => {
  if (req.method === 'POST') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': req.headers['content-type'] || 'application/octet-stream' });
      res.end(Buffer.concat(chunks));
    });
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('hello world');
}).listen(process.env.KUBELESS_LISTEN_FD
  ? { fd: Number(process.env.KUBELESS_LISTEN_FD) } // the socket the bench bound and handed over
  : { port: Number(process.env.FUNC_PORT), host: '127.0.0.1' });
