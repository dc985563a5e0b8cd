// A relying party on panva's openid-client (Node.js), driven by tests/interop/test_openid_client.py.
//
// Protocol on stdio, one JSON object per line:
//   → {"authorize": URL}               the authorization request to follow in a browser
//   ← the callback URL the provider redirected to (one line on stdin)
//   → {"ok": true, ...results} or {"ok": false, "error": ...}
//
// Everything the library checks, it checks for real: discovery (issuer match), the
// authorization response's state and iss (RFC 9207), PKCE, the ID token (signature against
// the JWKS, iss, aud, nonce, exp, at_hash), userinfo's sub; then refresh, introspection and revocation.
import * as client from 'openid-client'
import { createInterface } from 'node:readline'

const env = process.env
const say = (value) => process.stdout.write(JSON.stringify(value) + '\n')

async function clientAuth () {
  if (env.AUTH_METHOD === 'private_key_jwt') {
    const jwk = JSON.parse(env.CLIENT_PRIVATE_JWK)
    const key = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
    return client.PrivateKeyJwt({ key, kid: jwk.kid })
  }
  return client.ClientSecretBasic(env.CLIENT_SECRET)
}

async function failsWith (promise) {
  try {
    await promise
    return null
  } catch (error) {
    return error.error || error.code || String(error)
  }
}

async function main () {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
  const config = await client.discovery(new URL(env.ISSUER), env.CLIENT_ID, undefined, await clientAuth(), {
    execute: [client.allowInsecureRequests] // loopback http only: the provider under test
  })
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: env.REDIRECT_URI,
    scope: 'openid profile email contracts',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce
  })
  say({ authorize: url.href })
  const callback = (await lines.next()).value
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true
  })
  const claims = tokens.claims()
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  const refreshedClaims = refreshed.claims() // a refreshed ID token, if any, is validated too
  const before = await client.tokenIntrospection(config, refreshed.access_token)
  await client.tokenRevocation(config, refreshed.refresh_token)
  const after = await client.tokenIntrospection(config, refreshed.access_token)
  const refreshAfterRevocation = await failsWith(client.refreshTokenGrant(config, refreshed.refresh_token))
  const userinfoAfterRevocation = await failsWith(client.fetchUserInfo(config, refreshed.access_token, claims.sub))
  say({
    ok: true,
    issuer: config.serverMetadata().issuer,
    claims,
    userinfo,
    refreshed: refreshed.access_token !== tokens.access_token && refreshed.refresh_token !== tokens.refresh_token,
    refreshedSub: refreshedClaims ? refreshedClaims.sub : null,
    activeBefore: before.active,
    activeAfter: after.active,
    refreshAfterRevocation,
    userinfoAfterRevocation
  })
}

main().then(() => process.exit(0), (error) => {
  say({ ok: false, error: String(error), code: error.code, cause: error.cause ? String(error.cause.error || error.cause) : null })
  process.exit(1)
})
