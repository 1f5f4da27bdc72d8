// A real OpenID provider (panva/oidc-provider, a certified implementation)
// for Meetfield's sign-in tests. Started once per test run by
// scripts/test.sh, or by a test binary that finds none running.
//
// PORT (0: any free port) comes from the environment, and CLIENTS (a JSON
// array of oidc-provider client metadata) may replace the test clients
// below. The first line on stdout is
// `listening <issuer>`.
//
// Accounts are whatever login the dev interaction form is given (any
// password); their claims default to ones derived from the login and can be
// changed by tests: PUT /_test/accounts/<login> with a JSON object of claims
// (merged over the defaults; `null` removes a claim).
// A client whose id starts with `expired-` gets ID tokens that expired
// five minutes ago (signed as usual), for the expiry test.
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 0);
const redirect = 'http://api.localhost:8080/auth/oidc/callback';
const secretClient = (id) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  redirect_uris: [redirect],
  grant_types: ['authorization_code'],
  response_types: ['code'],
});
const clients = process.env.CLIENTS
  ? JSON.parse(process.env.CLIENTS)
  : [secretClient('meetfield'), secretClient('expired-meetfield')];
const overrides = new Map();

function claimsOf(sub) {
  const base = {
    sub,
    preferred_username: sub,
    name: `Test ${sub}`,
    email: `${sub}@idp.example`,
    email_verified: true,
    groups: ['staff'],
  };
  const extra = overrides.get(sub) || {};
  const out = { ...base, ...extra };
  for (const [k, v] of Object.entries(out)) if (v === null) delete out[k];
  return out;
}

const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'department', 'title'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    // Scope claims in the ID token too, as many corporate providers send them.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    findAccount: (ctx, sub) => ({
      accountId: sub,
      claims: () => claimsOf(sub),
    }),
    features: { devInteractions: { enabled: true } },
  });
  provider.proxy = false;
  const issue = provider.IdToken.prototype.issue;
  provider.IdToken.prototype.issue = function patched(opts = {}) {
    if (this.client && this.client.clientId.startsWith('expired-')) {
      return issue.call(this, { ...opts, expiresAt: Math.floor(Date.now() / 1000) - 300 });
    }
    return issue.call(this, opts);
  };
  const callback = provider.callback();
  server.on('request', (req, res) => {
    const m = req.url.match(/^\/_test\/accounts\/([^/?]+)$/);
    if (m && req.method === 'PUT') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        try {
          overrides.set(decodeURIComponent(m[1]), JSON.parse(body || '{}'));
          res.writeHead(204).end();
        } catch (e) {
          res.writeHead(400).end(String(e));
        }
      });
      return;
    }
    callback(req, res);
  });
  process.stdout.write(`listening ${issuer}\n`);
});

process.on('SIGTERM', () => process.exit(0));
// A test binary that started us holds our stdin: we go when it goes.
if (process.env.EXIT_WITH_STDIN) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
