// The seed article's gateway: Express, the auth middleware, then a proxy middleware to the
// service. Configuration from the environment: PORT, UPSTREAM (http://127.0.0.1:PORT), JWT_SECRET.
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { authMiddleware } from './auth.js';

const app = express();
app.use(authMiddleware);
app.use(createProxyMiddleware({ target: process.env.UPSTREAM }));

const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log(`node gateway listening on 127.0.0.1:${process.env.PORT}`);
});
// Node closes idle keep-alive connections after 5 s by default; the other peers keep them 60 s.
server.keepAliveTimeout = 60000;
server.headersTimeout = 61000;
