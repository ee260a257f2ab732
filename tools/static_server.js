#!/usr/bin/env node
/*
 * A tiny static file server for the browser demo and the browser tests.
 *
 *   node tools/static_server.js [port]     (npm run demo)
 *
 * Serves the package root on 127.0.0.1 (loopback only), so a page can load
 * /node_modules/@tensorflow/tfjs/dist/tf.min.js and
 * /dist/tfjs-batchnorm-inference.min.js. GET and HEAD only; paths cannot
 * leave the root.
 */
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const {pipeline} = require('stream');

const ROOT = path.resolve(__dirname, '..');
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.bin': 'application/octet-stream',
  '.wasm': 'application/wasm',
};

/**
 * Starts the server. Resolves to {server, port, url, close()}. Port 0 picks a
 * free port.
 */
function startServer({root = ROOT, port = 0, host = '127.0.0.1'} = {}) {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch (e) {
      res.writeHead(400).end();
      return;
    }
    if (pathname === '/') pathname = '/examples/web/index.html';
    const file = path.join(root, path.normalize(pathname));
    if (!file.startsWith(root + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    fs.stat(file, (err, stat) => {
      if (err || !stat.isFile()) {
        res.writeHead(404, {'content-type': 'text/plain'}).end(`not found: ${pathname}\n`);
        return;
      }
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
        'content-length': stat.size,
        'cache-control': 'no-store',
      });
      if (req.method === 'HEAD') {
        res.end();
      } else {
        // pipeline (not pipe) closes the file when the browser aborts the
        // response, so no file handle outlives the request.
        pipeline(fs.createReadStream(file), res, () => {});
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const actual = server.address().port;
      resolve({
        server,
        port: actual,
        url: `http://${host}:${actual}`,
        // Also drops keep-alive sockets a browser may still hold, so that a test
        // worker has no open handle left once the browser is gone.
        close: () => new Promise((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
      });
    });
  });
}

module.exports = {startServer, ROOT};

if (require.main === module) {
  const port = Number(process.argv[2] || process.env.PORT || 8080);
  startServer({port}).then(({url}) => {
    console.log(`tfjs-batchnorm-inference demo: ${url}/  (Ctrl-C to stop)`);
  }, (e) => {
    console.error(`could not serve on port ${port}: ${e.message}`);
    process.exit(1);
  });
}
