// The seed article's gateway: Express, the auth middleware, then a proxy middleware to the
// service. Configuration from the environment: PORT, UPSTREAM (http://127.0.0.1:PORT), JWT_SECRET.
import http from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { authMiddleware } from './auth.js';

const app = express();
app.use(authMiddleware);
// The article shows no proxy code, so the proxy middleware runs with its defaults, as a reader
// of the article would write it: without a keep-alive agent, http-proxy sends
// `Connection: close` upstream and passes the upstream's `close` back to the client, so every
// request pays two TCP handshakes. KEEPALIVE=1 adds the keep-alive agent every other peer has
// (the benchmark runs both, as `node` and `node-keepalive`).
const options = { target: process.env.UPSTREAM };
if (process.env.KEEPALIVE === '1') {
  options.agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
}
app.use(createProxyMiddleware(options));

const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log(`node gateway listening on 127.0.0.1:${process.env.PORT}`);
});
// Node closes idle keep-alive connections after 5 s by default; the other peers keep them 60 s.
server.keepAliveTimeout = 60000;
server.headersTimeout = 61000;
