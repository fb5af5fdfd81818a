// The certified peer of `bench/run --race`: node oidc-provider 9, configured like the provider under
// bench (bench/README.md, "Race"). This file is our benchmark's configuration of the peer, not its code;
// bench/race.py installs oidc-provider into a cache folder outside the repository and starts
//
//     node bench/peer.mjs MODULES_DIR SPEC.json
//
// SPEC.json (written by bench/race.py) holds the issuer and port, the two clients, the citizens and
// their claims, the pairwise secret, the lifetimes. Keys and cookie secrets are made here, per run.
//
// Like ours: authorization code flow only, PKCE S256 required for every client, client_secret_basic,
// ID tokens RS256 (one client) and ES256 (the other), pairwise `sub` by the same HMAC as ours (so both
// sides give a citizen the same `sub`), scope claims in the ID token too, opaque access tokens, a refresh
// token at every exchange, userinfo and introspection, the same lifetimes. State is in memory, in one process.
//
// Sessions and grants: /interaction/:uid is a benchmark-only sign-in that logs in the account named by
// login_hint and grants what the client asked for, through oidc-provider's interaction API. bench/race.py
// walks it once per citizen and client before measuring; afterwards every authorize finds the session
// (cookie) and the grant (the default `loadExistingGrant`: the grant id the session keeps per client), and
// answers with a code at once. A measured request that needed an interaction would fail the run.

import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [modulesDir, specFile] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(specFile, 'utf8'));
const fromPeer = (path) => import(pathToFileURL(join(modulesDir, 'node_modules', 'oidc-provider', path)).href);

const { default: Provider } = await fromPeer('lib/index.js');
const { default: LRU } = await fromPeer('lib/helpers/lru.js');
const { default: MemoryAdapter } = await fromPeer('lib/adapters/memory_adapter.js');
const { version } = JSON.parse(readFileSync(join(modulesDir, 'node_modules', 'oidc-provider', 'package.json'), 'utf8'));

// The bundled in-memory adapter, given a bigger store: by default it keeps 1,000 entries (an LRU that
// drops the older half when full), fewer than one round's codes and tokens, so codes would vanish before
// their exchange and sessions and grants mid-run. Same adapter class and LRU, room for a whole run.
const clockTolerance = 15; // oidc-provider's default, which the default adapter is given too
const store = new LRU({ maxSize: 1_000_000 });

function signingKey(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`, alg, use: 'sig' };
}

const accounts = new Map(Object.entries(spec.accounts));
const pairwiseSecret = Buffer.from(spec.pairwise_secret, 'utf8');
const scopeClaims = {
  // acr, amr and auth_time ride on openid so that the ID token carries them, as ours always does
  // (oidc-provider adds them only when asked); userinfo has none of them on either side
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: ['name', 'family_name', 'given_name', 'birthdate', 'locale'],
  email: ['email', 'email_verified'],
};

const configuration = {
  adapter: (model) => new MemoryAdapter(model, store, clockTolerance),
  clockTolerance,
  clients: spec.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: [spec.redirect_uri],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: c.alg,
    subject_type: 'pairwise',
    scope: spec.scope,
    // ours puts `sid` in every ID token (it supports back-channel logout); oidc-provider does for a
    // client registered for back-channel logout with the session required. No logout happens in the run.
    backchannel_logout_uri: spec.backchannel_logout_uri,
    backchannel_logout_session_required: true,
  })),
  clientAuthMethods: ['client_secret_basic'],
  responseTypes: ['code'],
  pkce: { required: () => true }, // S256 is the only method oidc-provider 9 knows
  jwks: {
    keys: [
      signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
      signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
    ],
  },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: scopeClaims,
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  subjectTypes: ['pairwise'],
  // ours: base64url(HMAC-SHA256(secret, sector "\0" account identifier)), idp/oidc/claims.py
  pairwiseIdentifier: (ctx, accountId, client) => createHmac('sha256', pairwiseSecret)
    .update(`${client.sectorIdentifier}\0${accountId}`).digest('base64url'),
  // ours puts the released scope claims in the ID token as well as in userinfo
  conformIdTokenClaims: false,
  // ours issues a refresh token at every exchange by a client allowed the refresh grant
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  async findAccount(ctx, id) {
    const claims = accounts.get(id);
    if (!claims) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    userinfo: { enabled: true },
    revocation: { enabled: true },
    backchannelLogout: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  routes: {
    authorization: '/authorize',
    token: '/token',
    userinfo: '/userinfo',
    introspection: '/introspect',
    revocation: '/revoke',
    jwks: '/jwks.json',
  },
  ttl: {
    AuthorizationCode: spec.ttl.authorization_code,
    AccessToken: spec.ttl.access_token,
    IdToken: spec.ttl.id_token,
    RefreshToken: spec.ttl.refresh_token,
    Session: spec.ttl.session,
    Grant: spec.ttl.grant,
    Interaction: 600,
  },
};

const provider = new Provider(spec.issuer, configuration);
provider.on('server_error', (ctx, error) => console.error('peer server_error', error));

// The benchmark-only sign-in and consent (see the top of this file).
async function interaction(req, res) {
  try {
    const details = await provider.interactionDetails(req, res);
    const accountId = details.params.login_hint;
    let result;
    if (details.prompt.name === 'login') {
      if (!accounts.has(accountId)) throw new Error(`unknown login_hint ${accountId}`);
      result = { login: { accountId, acr: spec.acr, amr: spec.amr } };
    } else if (details.prompt.name === 'consent') {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      result = { consent: { grantId: await grant.save() } };
    } else {
      throw new Error(`unexpected prompt ${details.prompt.name}`);
    }
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  } catch (error) {
    res.statusCode = 500;
    res.end(String(error));
  }
}

const handle = provider.callback();
const server = createServer((req, res) => (req.url.startsWith('/interaction/') ? interaction(req, res) : handle(req, res)));
server.listen(spec.port, '127.0.0.1', () => {
  console.log(JSON.stringify({ ready: true, pid: process.pid, node: process.version, oidc_provider: version }));
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
