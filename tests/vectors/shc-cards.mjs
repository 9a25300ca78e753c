// Makes SMART Health Cards and SMART Health Link files with the npm package
// `kill-the-clipboard` (pinned in package.json), the independent peer Carekey's
// readers are tested against. Writes into <dir>:
//   .well-known/jwks.json          the issuer's two keys; key B has crlVersion 1
//   .well-known/crl/<kidB>.json    key B's revocation list
//   cards.json                     {issuer, kidA, kidB, cases: {<name>: <file>}}
//   <name>.jws                     one card per case (see `cases` below)
//   valid.smart-health-card        the valid card as a file
//   valid.qr.txt                   the valid card's shc:/ QR text
//   shl.json                       {uri, payload, key, plaintext, zipped, plain}: a link made
//                                  by SHL.generate and two JWE files made by encryptSHLFile
// Usage: node tests/vectors/shc-cards.mjs <dir> [issuer URL]
import fs from "node:fs";
import path from "node:path";
import {
  SHCIssuer,
  SHCReader,
  SHL,
  deriveKidFromPublicKey,
  encryptSHLFile,
  compressDeflateRaw,
  decompressDeflateRaw,
} from "kill-the-clipboard";

const [dir, issuer = "https://issuer.example/shc"] = process.argv.slice(2);
if (!dir) throw new Error("usage: node shc-cards.mjs <output dir> [issuer URL]");

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
const fromB64u = (s) => new Uint8Array(Buffer.from(s, "base64url"));

async function keyPair() {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const privateJwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const publicJwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const kid = await deriveKidFromPublicKey(publicJwk);
  return { privateJwk, publicJwk, kid };
}

const bundle = {
  resourceType: "Bundle",
  type: "collection",
  entry: [
    {
      fullUrl: "resource:0",
      resource: {
        resourceType: "Patient",
        name: [{ family: "Brown", given: ["Oliver"] }],
        birthDate: "2017-01-04",
      },
    },
    {
      fullUrl: "resource:1",
      resource: {
        resourceType: "Immunization",
        status: "completed",
        vaccineCode: { coding: [{ system: "http://hl7.org/fhir/sid/cvx", code: "207" }] },
        patient: { reference: "resource:0" },
        occurrenceDateTime: "2021-01-01",
        lotNumber: "0000001",
      },
    },
  ],
};

const a = await keyPair();
const b = await keyPair();
const other = await keyPair();
const issuerWith = (key, extra = {}) =>
  new SHCIssuer({ issuer, privateKey: key.privateJwk, publicKey: key.publicJwk, ...extra });

const cases = {};
async function card(name, key, vcOptions = {}, extra = {}) {
  const shc = await issuerWith(key, extra).issue(bundle, vcOptions);
  cases[name] = `${name}.jws`;
  fs.writeFileSync(path.join(dir, cases[name]), shc.asJWS());
  return shc;
}

fs.mkdirSync(path.join(dir, ".well-known", "crl"), { recursive: true });

// Key A (no revocation list): valid, tampered, expiring, and a card from a key not published.
const valid = await card("valid", a);
await card("expiring", a, {}, { expirationTime: 3600 });
await card("unknown-key", other);

// Tampered: the payload's family name changed after signing; header and signature kept.
const [header, payload, signature] = valid.asJWS().split(".");
const claims = JSON.parse(new TextDecoder().decode(await decompressDeflateRaw(fromB64u(payload))));
claims.vc.credentialSubject.fhirBundle.entry[0].resource.name[0].family = "Smith";
const forged = b64u(await compressDeflateRaw(new TextEncoder().encode(JSON.stringify(claims))));
cases.tampered = "tampered.jws";
fs.writeFileSync(path.join(dir, cases.tampered), `${header}.${forged}.${signature}`);

// Key B (crlVersion 1): a revoked rid, a rid revoked only before a time after issuance (so
// revoked), one revoked only before a time long before issuance (so not revoked), and a rid
// not on the list.
const now = Math.floor(Date.now() / 1000);
await card("revoked", b, { rid: "r3v0ked" });
await card("revoked-before", b, { rid: "tsLater" });
await card("issued-after-revocation", b, { rid: "tsEarlier" });
await card("not-revoked", b, { rid: "stillGood" });

fs.writeFileSync(
  path.join(dir, ".well-known", "jwks.json"),
  JSON.stringify({
    keys: [
      { ...a.publicJwk, kid: a.kid, use: "sig", alg: "ES256" },
      { ...b.publicJwk, kid: b.kid, use: "sig", alg: "ES256", crlVersion: 1 },
    ],
  }),
);
fs.writeFileSync(
  path.join(dir, ".well-known", "crl", `${b.kid}.json`),
  JSON.stringify({
    kid: b.kid,
    method: "rid",
    ctr: 1,
    rids: ["r3v0ked", `tsLater.${now + 3600}`, `tsEarlier.${now - 3600}`],
  }),
);

// The valid card as a file and as QR text; the peer's own reader must accept it.
fs.writeFileSync(path.join(dir, "valid.smart-health-card"), await valid.asFileContent());
const qr = valid.asQRNumeric();
if (qr.length !== 1) throw new Error(`expected one QR code, got ${qr.length}`);
fs.writeFileSync(path.join(dir, "valid.qr.txt"), qr[0]);
await new SHCReader({ publicKey: a.publicJwk }).fromJWS(valid.asJWS());

fs.writeFileSync(
  path.join(dir, "cards.json"),
  JSON.stringify({ issuer, kidA: a.kid, kidB: b.kid, cases }, null, 1),
);

// A link and two files, as the peer makes them.
const shl = SHL.generate({
  baseManifestURL: "https://shl.example.org/m",
  flag: "LP",
  label: "Back-to-school immunizations",
  expirationDate: new Date(1900000000 * 1000),
});
const plaintext = JSON.stringify(bundle);
const zipped = await encryptSHLFile({
  content: plaintext,
  key: shl.key,
  contentType: "application/fhir+json",
  enableCompression: true,
});
const plain = await encryptSHLFile({
  content: plaintext,
  key: shl.key,
  contentType: "application/smart-health-card",
  enableCompression: false,
});
fs.writeFileSync(
  path.join(dir, "shl.json"),
  JSON.stringify({ uri: shl.toURI(), payload: shl.payload, key: shl.key, plaintext, zipped, plain }),
);
console.log(`wrote ${Object.keys(cases).length} cards and one link to ${dir}`);
