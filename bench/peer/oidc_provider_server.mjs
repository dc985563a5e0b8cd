// panva's oidc-provider, configured like our provider for bench/oidc_flow.py.
//
// Same flow and the same guarantees where the library offers them: confidential client
// with client_secret_basic, PKCE S256 required, opaque access tokens, refresh tokens
// issued and rotated on every use, userinfo and introspection on; first-party (no consent
// page: an existing grant is loaded); the login form checks an argon2id hash with the
// parameters it is given (the same as ours), or no hash at all for the no-hashing run.
// Storage is the library's in-memory adapter (its default; ours is a real database).
//
// env: PORT, ISSUER, CLIENT_SECRET, REDIRECT_URI, PASSWORD, ARGON2 ("m,t,p" or "off")
import http from 'node:http'
import { randomBytes } from 'node:crypto'
import Provider from 'oidc-provider'
import argon2 from 'argon2'

const env = process.env
const [m, t, p] = (env.ARGON2 || 'off').split(',').map(Number)
const hashing = env.ARGON2 && env.ARGON2 !== 'off'
const stored = hashing ? await argon2.hash(env.PASSWORD, { type: argon2.argon2id, memoryCost: m, timeCost: t, parallelism: p }) : null

const provider = new Provider(env.ISSUER, {
  clients: [{
    client_id: 'bench',
    client_secret: env.CLIENT_SECRET,
    redirect_uris: [env.REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic'
  }],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false }, introspection: { enabled: true }, revocation: { enabled: true } },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: `${id}@example.test`, email_verified: true, name: id, preferred_username: id })
  }),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  async loadExistingGrant (ctx) {
    const id = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId)
    if (id) return ctx.oidc.provider.Grant.find(id)
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId })
    grant.addOIDCScope('openid email profile')
    await grant.save()
    return grant
  },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, RefreshToken: 86400, Interaction: 600, Session: 3600, Grant: 86400 }
})

const callback = provider.callback()

function readBody (req) {
  return new Promise((resolve, reject) => {
    let body = ''
    req.on('data', (chunk) => { body += chunk; if (body.length > 65536) reject(new Error('too large')) })
    req.on('end', () => resolve(new URLSearchParams(body)))
  })
}

async function interaction (req, res) {
  const details = await provider.interactionDetails(req, res)
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(`<form method="post" action="/interaction/${details.uid}"><input name="login"><input name="password" type="password"><button>Sign in</button></form>`)
    return
  }
  const form = await readBody(req)
  const ok = hashing ? await argon2.verify(stored, form.get('password') || '') : form.get('password') === env.PASSWORD
  if (!ok) {
    res.writeHead(401)
    res.end('bad credentials')
    return
  }
  await provider.interactionFinished(req, res, { login: { accountId: form.get('login') } }, { mergeWithLastSubmission: false })
}

http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => { res.writeHead(500); res.end(String(error)) })
  } else {
    callback(req, res)
  }
}).listen(Number(env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'))
