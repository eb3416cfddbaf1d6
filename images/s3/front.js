'use strict';
// lattice/s3:dev — an OFFLINE STAND-IN for MinIO, for development and tests only.
//
// s3rver (npm) stores buckets and objects but accepts anonymous requests and never checks
// SigV4 signatures. This front, in the same process, owns port 9000: it answers MinIO's health
// endpoints, verifies AWS Signature V4 (Authorization header, presigned query, aws-chunked
// payloads) against MINIO_ROOT_USER / MINIO_ROOT_PASSWORD, refuses anonymous requests with 403,
// and proxies verified requests to s3rver on a private loopback port. Signature V2 (still
// boto3's default for presigned URLs) is passed through to s3rver, which verifies V2 itself
// against the same keys; its built-in S3RVER/S3RVER key is revoked.
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');

// MINIO_ROOT_USER_FILE / MINIO_ROOT_PASSWORD_FILE name files holding the keys, as MinIO's image
// allows (an absolute path, or a name under /run/secrets): Lattice never puts them in the env.
function fromEnvOrFile(name) {
  const file = process.env[name + '_FILE'];
  if (!file) return process.env[name];
  const p = path.isAbsolute(file) ? file : path.join('/run/secrets', file);
  return fs.readFileSync(p, 'utf8').replace(/\r?\n$/, '');
}
const USER = fromEnvOrFile('MINIO_ROOT_USER') || 'minioadmin';
const SECRET = fromEnvOrFile('MINIO_ROOT_PASSWORD') || 'minioadmin';
const DATA = process.env.S3_DATA_DIR || '/data';
const PORT = Number(process.env.S3_PORT || 9000);
const CONSOLE_PORT = Number(process.env.S3_CONSOLE_PORT || 9001);
const MAX_SKEW_MS = 15 * 60 * 1000;
const STORE = path.join(DATA, 'buckets'); // s3rver's directory: only buckets may live there
const SPOOL = path.join(DATA, '.spool'); // bodies wait here until their hash is verified

const sha256 = (d) => crypto.createHash('sha256').update(d).digest('hex');
const hmac = (key, d) => crypto.createHmac('sha256', key).update(d).digest();
const EMPTY_SHA = sha256('');
// AWS's URI encoding: RFC 3986 unreserved characters stay, everything else is %XX.
const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const AUTH_QUERY = new Set(['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires',
  'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Security-Token', 'X-Amz-Content-Sha256']);

class S3Err extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}
const denied = (msg) => new S3Err(403, 'AccessDenied', msg);

if (!fromEnvOrFile('MINIO_ROOT_USER') || !fromEnvOrFile('MINIO_ROOT_PASSWORD')) {
  console.warn('s3: MINIO_ROOT_USER/MINIO_ROOT_PASSWORD not set; using the default minioadmin:minioadmin');
}

function parseAmzDate(s) {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(s || '');
  if (!m) throw denied('X-Amz-Date is missing or not in ISO 8601 basic format');
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

function decode(s) {
  try { return decodeURIComponent(s); } catch { throw new S3Err(400, 'InvalidURI', 'Malformed percent-encoding'); }
}

// Split the request target into raw path and raw query pairs (decoded key, raw text).
function splitTarget(url) {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const pairs = (q < 0 ? '' : url.slice(q + 1)).split('&').filter(Boolean).map((raw) => {
    const e = raw.indexOf('=');
    return { raw, key: decode(e < 0 ? raw : raw.slice(0, e)), value: e < 0 ? '' : decode(raw.slice(e + 1)) };
  });
  return { rawPath, pairs };
}

// Header name -> canonical value (trimmed, inner whitespace squeezed, repeats joined by ',').
function headerValues(req) {
  const h = new Map();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const v = req.rawHeaders[i + 1].trim().replace(/\s+/g, ' ');
    h.set(name, h.has(name) ? h.get(name) + ',' + v : v);
  }
  return h;
}

function signingKey(date, region) {
  return hmac(hmac(hmac(hmac('AWS4' + SECRET, date), region), 's3'), 'aws4_request');
}

// Verify a SigV4 request. Returns what the body handling needs: the payload hash mode, and the
// key/scope/seed signature for aws-chunked chunk signatures.
function verify(req, target) {
  const headers = headerValues(req);
  const query = new Map(target.pairs.map((p) => [p.key, p.value]));
  let credential, signedHeaders, signature, amzDate, payload;

  const auth = headers.get('authorization');
  if (auth !== undefined && query.has('X-Amz-Signature')) throw new S3Err(400, 'InvalidArgument', 'Only one auth mechanism allowed');
  if (auth?.startsWith('AWS ') || (auth === undefined && query.has('Signature'))) return { v2: true };
  if (auth !== undefined) {
    if (!auth.startsWith('AWS4-HMAC-SHA256 ')) throw denied('Unsupported Authorization type');
    const parts = Object.fromEntries(auth.slice(17).split(',').map((p) => {
      const e = p.indexOf('=');
      return [p.slice(0, e).trim(), p.slice(e + 1).trim()];
    }));
    ({ Credential: credential, SignedHeaders: signedHeaders, Signature: signature } = parts);
    amzDate = headers.get('x-amz-date');
    if (amzDate === undefined && headers.has('date')) {
      amzDate = new Date(headers.get('date')).toISOString().replace(/[-:]|\.\d+/g, '');
    }
    if (Math.abs(Date.now() - parseAmzDate(amzDate)) > MAX_SKEW_MS) {
      throw new S3Err(403, 'RequestTimeTooSkewed', 'The difference between the request time and the server time is too large');
    }
    payload = headers.get('x-amz-content-sha256');
    if (!payload) throw new S3Err(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  } else if (query.has('X-Amz-Signature')) {
    if (query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw denied('X-Amz-Algorithm only supports AWS4-HMAC-SHA256');
    credential = query.get('X-Amz-Credential');
    signedHeaders = query.get('X-Amz-SignedHeaders');
    signature = query.get('X-Amz-Signature');
    amzDate = query.get('X-Amz-Date');
    const start = parseAmzDate(amzDate);
    const expires = Number(query.get('X-Amz-Expires'));
    if (!Number.isInteger(expires) || expires < 1 || expires > 604800) throw denied('X-Amz-Expires must be 1..604800 seconds');
    if (start - Date.now() > MAX_SKEW_MS) throw denied('Request is not valid yet');
    if (Date.now() > start + expires * 1000) throw denied('Request has expired');
    payload = query.get('X-Amz-Content-Sha256') || 'UNSIGNED-PAYLOAD';
  } else {
    throw denied('Anonymous access is not allowed; sign requests with AWS Signature Version 4 or 2');
  }

  if (!credential || !signedHeaders || !signature) throw new S3Err(400, 'AuthorizationHeaderMalformed', 'Credential, SignedHeaders and Signature are required');
  const [accessKey, date, region, service, terminator, ...rest] = credential.split('/');
  if (accessKey !== USER) throw new S3Err(403, 'InvalidAccessKeyId', 'The access key ID you provided does not exist in our records');
  if (rest.length || service !== 's3' || terminator !== 'aws4_request' || !region || date !== amzDate.slice(0, 8)) {
    throw new S3Err(400, 'AuthorizationHeaderMalformed', 'Malformed credential scope');
  }
  const names = signedHeaders.split(';');
  if (!names.includes('host')) throw denied('The host header must be signed');

  const canonicalQuery = target.pairs.filter((p) => p.key !== 'X-Amz-Signature')
    .map((p) => [enc(p.key), enc(p.value)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join('&');
  const canonicalRequest = [
    req.method,
    target.rawPath.split('/').map((seg) => enc(decode(seg))).join('/'),
    canonicalQuery,
    ...names.map((n) => `${n}:${headers.get(n) ?? ''}`), '',
    signedHeaders,
    payload,
  ].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const key = signingKey(date, region);
  const expected = hmac(key, ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n')).toString('hex');
  if (!sameHex(expected, signature)) {
    throw new S3Err(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided');
  }
  return { payload, key, scope, amzDate, seed: signature };
}

function sameHex(a, b) {
  const x = Buffer.from(a), y = Buffer.from(String(b).toLowerCase());
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

// Reads a request as a byte source: exact byte counts and CRLF-terminated lines.
function reader(req) {
  const it = req[Symbol.asyncIterator]();
  let buf = Buffer.alloc(0);
  const more = async () => {
    const { value, done } = await it.next();
    if (done) throw new S3Err(400, 'IncompleteBody', 'The request body ended early');
    return value;
  };
  return {
    async line() {
      let i;
      while ((i = buf.indexOf('\r\n')) < 0) {
        if (buf.length > 4096) throw new S3Err(400, 'InvalidRequest', 'Malformed aws-chunked encoding');
        buf = Buffer.concat([buf, await more()]);
      }
      const l = buf.subarray(0, i).toString('latin1');
      buf = buf.subarray(i + 2);
      return l;
    },
    async take(n, sink) {
      while (n > 0) {
        if (!buf.length) buf = await more();
        const part = buf.subarray(0, Math.min(n, buf.length));
        buf = buf.subarray(part.length);
        n -= part.length;
        await sink(part);
      }
    },
  };
}

// Write the request body, verified and decoded, to a spool file. Returns its path and size.
async function spoolBody(req, auth) {
  const file = path.join(SPOOL, crypto.randomBytes(12).toString('hex'));
  const fh = await fs.promises.open(file, 'wx');
  let size = 0;
  const write = async (b) => { await fh.write(b); size += b.length; };
  try {
    if (/^[0-9a-f]{64}$/i.test(auth.payload)) {
      const h = crypto.createHash('sha256');
      for await (const b of req) { h.update(b); await write(b); }
      if (h.digest('hex') !== auth.payload.toLowerCase()) {
        throw new S3Err(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed");
      }
    } else if (auth.payload.startsWith('STREAMING-')) {
      await decodeChunked(req, auth, write);
      const want = req.headers['x-amz-decoded-content-length'];
      if (want !== undefined && Number(want) !== size) throw new S3Err(400, 'IncompleteBody', 'Decoded length differs from x-amz-decoded-content-length');
    } else {
      throw new S3Err(400, 'InvalidArgument', `Unsupported x-amz-content-sha256: ${auth.payload}`);
    }
  } catch (e) {
    await fh.close(); await fs.promises.rm(file, { force: true });
    throw e;
  }
  await fh.close();
  return { file, size };
}

// aws-chunked: "<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n" ... "0...\r\n" [trailers] "\r\n".
// With STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] every chunk is signed, chained from the
// request's signature.
async function decodeChunked(req, auth, write) {
  const signed = auth.payload.startsWith('STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
  if (!signed && auth.payload !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') {
    throw new S3Err(400, 'InvalidArgument', `Unsupported x-amz-content-sha256: ${auth.payload}`);
  }
  const r = reader(req);
  let prev = auth.seed;
  for (;;) {
    const [sizeHex, ...ext] = (await r.line()).split(';');
    const size = parseInt(sizeHex, 16);
    if (!/^[0-9a-fA-F]+$/.test(sizeHex.trim()) || !Number.isSafeInteger(size)) throw new S3Err(400, 'InvalidRequest', 'Malformed aws-chunked encoding');
    const h = crypto.createHash('sha256');
    await r.take(size, async (b) => { h.update(b); await write(b); });
    if (signed) {
      const sig = ext.map((e) => e.trim()).find((e) => e.startsWith('chunk-signature='))?.slice(16);
      const expected = hmac(auth.key, ['AWS4-HMAC-SHA256-PAYLOAD', auth.amzDate, auth.scope, prev, EMPTY_SHA, h.digest('hex')].join('\n')).toString('hex');
      if (!sig || !sameHex(expected, sig)) throw new S3Err(403, 'SignatureDoesNotMatch', 'A chunk signature does not match');
      prev = sig;
    }
    if (size === 0) break;
    if ((await r.line()) !== '') throw new S3Err(400, 'InvalidRequest', 'Malformed aws-chunked encoding');
  }
  // Trailing headers (checksums; not verified here) end with an empty line.
  while ((await r.line()) !== '');
}

let backendPort;

function sendError(req, res, e) {
  const status = e instanceof S3Err ? e.status : 500;
  const code = e instanceof S3Err ? e.code : 'InternalError';
  if (!(e instanceof S3Err)) console.error('s3:', e);
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(e.message)}</Message>` +
    `<Resource>${escapeXml(req.url.split('?')[0])}</Resource><RequestId>${crypto.randomBytes(8).toString('hex')}</RequestId></Error>\n`;
  if (res.headersSent) { res.destroy(); return; }
  // The body may not have been read: close the connection rather than parse leftovers.
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml), connection: 'close' });
  res.end(req.method === 'HEAD' ? undefined : xml);
  req.resume();
}
const escapeXml = (s) => String(s).replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

// Forward a request to s3rver. A verified V4 request goes with its auth parameters replaced by a
// V4 header naming the root key (s3rver never checks V4 signatures, only that the key exists);
// a V2 request (auth.v2) goes unchanged, for s3rver to verify.
function forward(req, res, target, auth, body) {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers };
    for (const h of ['expect', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']) delete headers[h];
    if (!auth.v2) {
      for (const h of ['authorization', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-decoded-content-length']) delete headers[h];
      const now = new Date().toISOString().replace(/[-:]|\.\d+/g, '');
      Object.assign(headers, {
        'x-amz-date': now,
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        authorization: `AWS4-HMAC-SHA256 Credential=${USER}/${now.slice(0, 8)}/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=${'0'.repeat(64)}`,
      });
      // s3rver reads x-amz-copy-source with decodeURI, which leaves %2B, %2C, ... encoded.
      if (headers['x-amz-copy-source']) headers['x-amz-copy-source'] = encodeURI(decode(headers['x-amz-copy-source']));
    }
    if (headers['content-encoding']) {
      const ce = headers['content-encoding'].split(',').map((s) => s.trim()).filter((s) => s && s !== 'aws-chunked');
      if (ce.length) headers['content-encoding'] = ce.join(','); else delete headers['content-encoding'];
    }
    if (body) headers['content-length'] = body.size;
    else if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length'];
    else if (req.headers['transfer-encoding']) headers['transfer-encoding'] = req.headers['transfer-encoding'];
    const query = target.pairs.filter((p) => auth.v2 || !AUTH_QUERY.has(p.key)).map((p) => p.raw).join('&');

    const up = http.request({ host: '127.0.0.1', port: backendPort, method: req.method,
      path: target.rawPath + (query ? '?' + query : ''), headers }, (br) => {
      res.writeHead(br.statusCode, br.headers);
      br.pipe(res);
      br.on('end', resolve);
      br.on('error', reject);
    });
    up.on('error', reject);
    if (body) fs.createReadStream(body.file).on('error', reject).pipe(up);
    else req.pipe(up);
  });
}

function backendAlive() {
  return new Promise((resolve) => {
    const r = http.get({ host: '127.0.0.1', port: backendPort, path: '/', timeout: 2000 }, (res) => { res.resume(); resolve(true); });
    r.on('error', () => resolve(false));
    r.on('timeout', () => { r.destroy(); resolve(false); });
  });
}

async function handle(req, res) {
  const t0 = Date.now();
  const target = splitTarget(req.url);
  let body;
  try {
    // MinIO's unauthenticated health checks.
    if (target.rawPath === '/minio/health/live' || target.rawPath === '/minio/health/ready') {
      const ok = target.rawPath.endsWith('/live') || (await backendAlive());
      res.writeHead(ok ? 200 : 503, { 'content-length': 0 });
      res.end();
      return;
    }
    const auth = verify(req, target);
    const hasBody = Number(req.headers['content-length'] || 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (auth.v2 || auth.payload === 'UNSIGNED-PAYLOAD') {
      // nothing to check in the body: stream it straight through
    } else if (hasBody || auth.payload.startsWith('STREAMING-')) {
      body = await spoolBody(req, auth);
    } else if (auth.payload.toLowerCase() !== EMPTY_SHA) {
      throw new S3Err(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed");
    }
    await forward(req, res, target, auth, body);
  } catch (e) {
    sendError(req, res, e);
  } finally {
    if (body) fs.promises.rm(body.file, { force: true }).catch(() => {});
    console.log(`${new Date().toISOString()} ${req.method} ${target.rawPath} ${res.statusCode} ${Date.now() - t0}ms`);
  }
}

async function main() {
  fs.mkdirSync(STORE, { recursive: true });
  fs.rmSync(SPOOL, { recursive: true, force: true });
  fs.mkdirSync(SPOOL, { recursive: true });
  // s3rver's one account gets the root key instead of its built-in S3RVER/S3RVER.
  AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(USER, SECRET);
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory: STORE, silent: true, vhostBuckets: false });
  ({ port: backendPort } = await s3rver.run());

  const server = http.createServer((req, res) => { handle(req, res); });
  server.listen(PORT, '0.0.0.0');
  // MinIO serves its web console here; the stand-in has none, but says so instead of refusing.
  const consoleServer = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('lattice/s3:dev is an offline S3 stand-in without a web console; use the S3 API on port 9000.\n');
  });
  consoleServer.listen(CONSOLE_PORT, '0.0.0.0');
  console.log(`s3: S3 API on :${PORT} (data in ${STORE}), console placeholder on :${CONSOLE_PORT}`);

  // As PID 1, node gets no default signal handling: exit on docker stop.
  const stop = (sig) => {
    console.log(`s3: ${sig}, shutting down`);
    server.close(); consoleServer.close(); s3rver.close();
    setTimeout(() => process.exit(0), 2000).unref();
    server.on('close', () => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => { console.error('s3: failed to start:', e); process.exit(1); });
