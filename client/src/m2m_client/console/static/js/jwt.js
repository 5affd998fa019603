// Decode a JWS compact token and verify its signature with WebCrypto against a JWKS
// (RS256: RSASSA-PKCS1-v1_5 with SHA-256; ES256: ECDSA P-256, raw r||s signatures).

function b64urlBytes(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const raw = atob(b64);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export function decode(token) {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error("not a JWS compact token (three parts)");
  const text = (part) => new TextDecoder().decode(b64urlBytes(part));
  return { header: JSON.parse(text(parts[0])), claims: JSON.parse(text(parts[1])), parts };
}

const ALGS = {
  RS256: { kty: "RSA", importAlg: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, verifyAlg: { name: "RSASSA-PKCS1-v1_5" } },
  ES256: { kty: "EC", crv: "P-256", importAlg: { name: "ECDSA", namedCurve: "P-256" }, verifyAlg: { name: "ECDSA", hash: "SHA-256" } },
};

// {ok, reason, kid}: ok only when a key with the token's kid and alg verifies it.
export async function verify(token, jwks) {
  const { header, parts } = decode(token);
  const alg = ALGS[header.alg];
  if (!alg) return { ok: false, reason: `algorithm ${header.alg} is not accepted (RS256, ES256 only)` };
  const key = (jwks.keys || []).find((k) => k.kid === header.kid);
  if (!key) return { ok: false, reason: `no key with kid ${header.kid} in the JWKS` };
  if (key.kty !== alg.kty || (alg.crv && key.crv !== alg.crv) || (key.alg && key.alg !== header.alg)) {
    return { ok: false, reason: `the JWKS key ${header.kid} does not match ${header.alg}` };
  }
  const { kty, n, e, crv, x, y } = key;
  const jwk = kty === "RSA" ? { kty, n, e } : { kty, crv, x, y };
  const cryptoKey = await crypto.subtle.importKey("jwk", jwk, alg.importAlg, false, ["verify"]);
  const data = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
  const ok = await crypto.subtle.verify(alg.verifyAlg, cryptoKey, b64urlBytes(parts[2]), data);
  return ok ? { ok: true, kid: header.kid } : { ok: false, reason: "the signature does not verify" };
}
