// A real OpenID Connect provider for Kudos' sign-in tests and for trying SSO
// locally. It is panva's oidc-provider (OpenID Certified), configured with
// known test users; only the account lookup and the page styling are ours.
//
//   node server.mjs CONFIG.json
//
// CONFIG.json:
//   {
//     "port": 9000,                      // listens on 127.0.0.1 only
//     "usersFile": "users.json",         // re-read on every sign-in
//     "clients": [{ "client_id": "kudos", "client_secret": "...",
//                   "redirect_uris": ["http://127.0.0.1:5000/auth/callback"],
//                   "post_logout_redirect_uris": ["http://127.0.0.1:5000/login"] }]
//   }
//
// users.json maps a login name (which is also the subject) to its claims:
//   { "ana": { "email": "ana@acme.example.com",
//              "email_verified": true, "name": "Ana Souza", "groups": ["staff"] } }
// The login form accepts any password for a known login (development
// interactions); an unknown login is refused by the provider.

import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import Provider from 'oidc-provider';

const configPath = resolve(process.argv[2] ?? 'config.json');
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const usersFile = resolve(dirname(configPath), config.usersFile ?? 'users.json');
const port = Number(config.port ?? 9000);
const issuer = `http://127.0.0.1:${port}`;

function users() {
  return JSON.parse(readFileSync(usersFile, 'utf8'));
}

const page = (title, body) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px system-ui,sans-serif;margin:3rem auto;max-width:24rem;padding:0 1rem}
button{font:inherit;padding:.5rem 1rem;margin:.25rem 0;width:100%}</style></head>
<body><h1>${title}</h1>${body}</body></html>`;

const provider = new Provider(issuer, {
  clients: config.clients,
  // The login name is the account id, and so the subject (``sub``) too.
  async findAccount(ctx, id) {
    if (!users()[id]) return undefined;
    return {
      accountId: id,
      async claims() {
        // Re-read, so a test can change a user's claims between sign-ins.
        return { ...users()[id], sub: id };
      },
    };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'title', 'department', 'team',
      'manager_email'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out of the test provider?', `${form}
          <button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
          <button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p>You are signed out of the test provider.</p>');
      },
    },
  },
  // Kudos is a first-party application: skip the consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600 },
});

provider.on('server_error', (ctx, error) => console.error('server_error', error));

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
