// Verifies one of our key-mode provenance bundles with sigstore-js (`@sigstore/verify`), the way
// docs/provenance.md ("Key bundles and other Sigstore tools") describes, then checks that tampered
// copies are refused. Driven by bench/sigstore-js-verify.sh; usable on its own:
//
//   node bench/sigstore_js_verify.mjs NODE_DIR provenance.json keys.json server.canonical.json
//
// NODE_DIR is the directory whose node_modules holds @sigstore/verify (its own @sigstore/bundle and
// @sigstore/core are used, so the three always match). provenance.json is the response of
// GET /v0.1/x/dev.mcp-reg/servers/{name}/versions/{version}/provenance, keys.json the response of
// GET /v0.1/x/dev.mcp-reg/namespaces/{ns}/keys. Prints a JSON summary on stdout; exits 1 on any failure.
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const [nodeDir, provenancePath, keysPath, canonicalPath] = process.argv.slice(2);
if (!canonicalPath) {
  console.error('usage: sigstore_js_verify.mjs NODE_DIR provenance.json keys.json server.canonical.json');
  process.exit(2);
}
const fail = (message) => {
  console.error(`sigstore-js: ${message}`);
  process.exit(1);
};

// Resolve the bundle/core packages through @sigstore/verify itself, so they are the versions it uses.
const requireHere = createRequire(path.join(path.resolve(nodeDir), 'package.json'));
const verifyEntry = requireHere.resolve('@sigstore/verify');
const requireVerify = createRequire(verifyEntry);
const sigverify = requireVerify('@sigstore/verify');
const { bundleFromJSON } = requireVerify('@sigstore/bundle');
const packageVersion = (request, name) => {
  for (let dir = path.dirname(request.resolve(name)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (pkg.name === name) return pkg.version;
    } catch {
      // not a package root yet
    }
  }
  return '?';
};
const versions = {
  '@sigstore/verify': packageVersion(requireHere, '@sigstore/verify'),
  '@sigstore/bundle': packageVersion(requireVerify, '@sigstore/bundle'),
  '@sigstore/core': packageVersion(requireVerify, '@sigstore/core'),
  node: process.versions.node,
};

const provenance = JSON.parse(readFileSync(provenancePath, 'utf8'));
const keyList = JSON.parse(readFileSync(keysPath, 'utf8'));
const canonical = readFileSync(canonicalPath);
const canonicalSha256 = createHash('sha256').update(canonical).digest('hex');
if (provenance.status !== 'verified' || !provenance.bundle) {
  fail(`the provenance response has no bundle (status ${provenance.status})`);
}
const bundleJSON = provenance.bundle;

// The namespace's keys, by the hint our bundles carry: hex SHA-256 of the DER SubjectPublicKeyInfo.
const keysByHint = {};
for (const key of keyList.keys ?? []) {
  if (key.revokedAt) continue;
  const der = createPublicKey(key.publicKey).export({ type: 'spki', format: 'der' });
  const hint = createHash('sha256').update(der).digest('hex');
  if (hint !== key.keyId) fail(`key ${key.keyId}: the SHA-256 of its SPKI is ${hint}, not its keyId`);
  keysByHint[hint] = {
    rawBytes: der,
    keyDetails: key.algorithm === 'ed25519' ? 'PKIX_ED25519' : 'PKIX_ECDSA_P256_SHA_256',
    algorithm: key.algorithm,
  };
}
const hint = bundleJSON.verificationMaterial?.publicKey?.hint;
if (!hint) fail('the bundle has no verificationMaterial.publicKey.hint');
if (!keysByHint[hint]) fail(`the bundle's hint ${hint} names no active key of the namespace`);

// An empty trusted root: no CAs, logs or TSAs; the only trust is the namespace key.
const emptyRoot = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};
const options = { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 };
const verifierFor = (keys) => new sigverify.Verifier(sigverify.toTrustMaterial(emptyRoot, keys), options);

// 1. The bundle as served: parsed by @sigstore/bundle (which validates its shape), verified, and its
//    statement's subject compared with the canonical manifest.
let bundle;
try {
  bundle = bundleFromJSON(bundleJSON);
} catch (err) {
  fail(`@sigstore/bundle rejected the bundle: ${err.message}`);
}
let signer;
try {
  signer = verifierFor({ [hint]: keysByHint[hint] }).verify(sigverify.toSignedEntity(bundle));
} catch (err) {
  fail(`@sigstore/verify rejected the bundle: ${err.code ?? err.name}: ${err.message}`);
}
const signerDer = signer.key.export({ type: 'spki', format: 'der' });
if (!signerDer.equals(keysByHint[hint].rawBytes)) fail('the verifier reports a different signing key');

const envelope = bundle.content.dsseEnvelope;
if (envelope.payloadType !== 'application/vnd.in-toto+json') fail(`payloadType is ${envelope.payloadType}`);
const statement = JSON.parse(Buffer.from(envelope.payload).toString('utf8'));
const subject = statement.subject?.[0];
if (subject?.digest?.sha256 !== canonicalSha256) {
  fail(`subject[0].digest.sha256 is ${subject?.digest?.sha256}, sha256 of the canonical manifest is ${canonicalSha256}`);
}

// 2. Negatives: each copy must be refused, with a signature error (not some unrelated failure).
const flipByte = (b64, index) => {
  const bytes = Buffer.from(b64, 'base64');
  bytes[index % bytes.length] ^= 0x01;
  return bytes.toString('base64');
};
const tamperedPayload = () => {
  const copy = structuredClone(bundleJSON);
  const text = Buffer.from(copy.dsseEnvelope.payload, 'base64').toString('utf8');
  const at = text.indexOf(canonicalSha256);
  if (at < 0) fail('the payload does not contain the canonical digest');
  const swapped = canonicalSha256[0] === '0' ? '1' : '0';
  copy.dsseEnvelope.payload = Buffer.from(text.slice(0, at) + swapped + text.slice(at + 1)).toString('base64');
  return copy;
};
const tamperedSignature = () => {
  const copy = structuredClone(bundleJSON);
  copy.dsseEnvelope.signatures[0].sig = flipByte(copy.dsseEnvelope.signatures[0].sig, 10);
  return copy;
};
const otherKey = () => {
  const { publicKey } = keysByHint[hint].algorithm === 'ed25519'
    ? generateKeyPairSync('ed25519')
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...keysByHint[hint], rawBytes: publicKey.export({ type: 'spki', format: 'der' }) };
};
const negatives = [
  ['signature byte flipped', tamperedSignature(), keysByHint[hint]],
  ['subject digest changed in the payload', tamperedPayload(), keysByHint[hint]],
  ['hint mapped to another key', structuredClone(bundleJSON), otherKey()],
];
const refused = [];
for (const [label, json, key] of negatives) {
  let outcome;
  try {
    verifierFor({ [hint]: key }).verify(sigverify.toSignedEntity(bundleFromJSON(json)));
    outcome = null;
  } catch (err) {
    outcome = err;
  }
  if (!outcome) fail(`a tampered copy (${label}) VERIFIED`);
  if (outcome.code !== 'SIGNATURE_ERROR') {
    fail(`a tampered copy (${label}) was refused for another reason: ${outcome.code ?? outcome.name}: ${outcome.message}`);
  }
  refused.push({ case: label, error: `${outcome.code}: ${outcome.message}` });
}

console.log(JSON.stringify({
  versions,
  name: provenance.name,
  version: provenance.version,
  mediaType: bundleJSON.mediaType,
  hint,
  algorithm: keysByHint[hint].algorithm,
  predicateType: statement.predicateType,
  subject: subject.name,
  sha256: canonicalSha256,
  refused,
}));
