// The seed article's gateway: Express, the auth middleware, then a proxy middleware to the
// service. Configuration from the environment: PORT, UPSTREAM (http://127.0.0.1:PORT), JWT_SECRET.
import http from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { authMiddleware } from './auth.js';

const app = express();
app.use(authMiddleware);
// A keep-alive agent, as every other peer pools its upstream connections. Without one,
// http-proxy sends `Connection: close` upstream and passes the upstream's `close` back to the
// client, so every request would pay two TCP handshakes.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
app.use(createProxyMiddleware({ target: process.env.UPSTREAM, agent }));

const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log(`node gateway listening on 127.0.0.1:${process.env.PORT}`);
});
// Node closes idle keep-alive connections after 5 s by default; the other peers keep them 60 s.
server.keepAliveTimeout = 60000;
server.headersTimeout = 61000;
