'use strict';
// Fastify anchor for bench/auth_me: the seed's own stack answering the same route as Lattice.
// GET /api/v1/auth/me checks `Authorization: Bearer <token>` against one fixed token
// (BENCH_TOKEN, constant-time compare) and answers a fixed user, serialized through a response
// schema (fast-json-stringify), which is how a Fastify service would normally do it.
// No logger: Lattice runs with --access-log false and nginx with access_log off.
//
//   PORT=8080 BENCH_TOKEN=... node server.js      prints "fastify listening on http://..."

const crypto = require('node:crypto');
const fastify = require('fastify')({ logger: false });

const port = Number(process.env.PORT || 0);
const host = process.env.HOST || '127.0.0.1';
const token = process.env.BENCH_TOKEN;
if (!token) {
  console.error('BENCH_TOKEN is required');
  process.exit(2);
}
const expected = Buffer.from('Bearer ' + token);

const user = {
  id: 'usr_benchbenchbenchbench',
  email: 'bench@example.com',
  role: 'admin',
  created_at: '2026-01-01T00:00:00Z',
};

const problem401 = {
  type: 'urn:lattice:problem:unauthorized',
  title: 'Unauthorized',
  status: 401,
  detail: 'Sign in first: send Authorization: Bearer <token>.',
  instance: '/api/v1/auth/me',
};

function authorized(header) {
  if (typeof header !== 'string') return false;
  const got = Buffer.from(header);
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}

fastify.route({
  method: 'GET',
  url: '/api/v1/auth/me',
  schema: {
    response: {
      200: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          email: { type: 'string' },
          role: { type: 'string' },
          created_at: { type: 'string' },
        },
      },
    },
  },
  preHandler: (request, reply, done) => {
    if (authorized(request.headers.authorization)) return done();
    reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .type('application/problem+json')
      .send(problem401);
  },
  handler: (request, reply) => {
    reply.send(user);
  },
});

fastify.listen({ port, host }).then(
  (address) => {
    console.log(`fastify listening on ${address}`);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    fastify.close().then(() => process.exit(0));
  });
}
