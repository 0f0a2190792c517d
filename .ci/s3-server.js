// An S3-compatible server on loopback for the tests: @20minutes/s3rver (the maintained fork of s3rver,
// which checks AWS Signature V4 of requests and presigned URLs, signed headers such as Content-Type
// included, and refuses expired presigned URLs). s3rver itself serves anonymous requests too; this
// wrapper refuses every request that carries no signature, as a private bucket does.
//   node .ci/s3-server.js <port> <directory>   (credentials: S3_ACCESS_KEY / S3_SECRET_KEY)
'use strict';
const authenticationPath = require.resolve('@20minutes/s3rver/lib/middleware/authentication');
const authentication = require(authenticationPath);
// s3rver builds the canonical URI of a bucket request (PUT /bucket/, GET /bucket/?list-type=2) without
// the trailing slash that the request has and that AWS SDKs sign (S3 and MinIO sign the path as sent),
// so such requests fail with SignatureDoesNotMatch. For them alone the middleware is run with the
// virtual-host branch, which keeps the slash; everything after it sees the request unchanged.
require.cache[authenticationPath].exports = () => {
  const check = authentication();
  return async (ctx, next) => {
    if (!/^\/[^/]+\/$/.test(ctx.path) || ctx.state.vhost) return check(ctx, next);
    const mountPath = ctx.mountPath;
    ctx.state.vhost = true;
    ctx.mountPath = '/';
    return check(ctx, async () => {
      ctx.state.vhost = false;
      ctx.mountPath = mountPath;
      await next();
    });
  };
};
const fs = require('node:fs');
const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');

const [port, directory] = process.argv.slice(2);
const accessKey = process.env.S3_ACCESS_KEY, secretKey = process.env.S3_SECRET_KEY;
if (!port || !directory || !accessKey || !secretKey) {
  console.error('usage: S3_ACCESS_KEY=... S3_SECRET_KEY=... node s3-server.js <port> <directory>');
  process.exit(2);
}
// Only the given key pair is valid: the built-in S3RVER/S3RVER pair is revoked.
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey);

class PrivateS3rver extends S3rver {
  callback() {
    const serve = super.callback();
    return (req, res) => {
      const url = new URL(req.url, 'http://localhost');
      const query = url.searchParams;
      if (!req.headers.authorization && !query.has('X-Amz-Signature') && !query.has('Signature')) {
        res.writeHead(403, { 'Content-Type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Anonymous access is not allowed</Message></Error>');
        return;
      }
      this.resolveSuffixRange(req, url).then(() => serve(req, res), () => serve(req, res));
    };
  }

  // s3rver reads a suffix range (Range: bytes=-N, the last N bytes, as players ask for) as bytes=0-N.
  // When the Range header is not signed, it is turned into the explicit range S3 would serve.
  async resolveSuffixRange(req, url) {
    const suffix = /^bytes=-(\d+)$/.exec(req.headers.range || '');
    const signed = url.searchParams.get('X-Amz-SignedHeaders') || (/SignedHeaders=([^,]+)/.exec(req.headers.authorization || '') || [])[1] || '';
    if (!suffix || req.method !== 'GET' || signed.split(';').includes('range')) return;
    const [bucket, ...key] = url.pathname.slice(1).split('/').map(decodeURIComponent);
    const { size } = await fs.promises.stat(this.store.getResourcePath(bucket, key.join('/'), 'object'));
    const length = Math.min(Number(suffix[1]), size);
    if (length > 0) req.headers.range = `bytes=${size - length}-${size - 1}`;
  }
}

new PrivateS3rver({ address: '127.0.0.1', port: Number(port), directory, silent: true })
  .run()
  .then(({ address, port }) => console.log(`S3 server listening on ${address}:${port}`))
  .catch((e) => { console.error(e); process.exit(1); });
