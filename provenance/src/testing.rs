//! A throwaway Sigstore for offline tests: a P-256 "Fulcio" CA, a CT log key and a "Rekor" key, minting keyless
//! bundles that pass full verification (chain, SCT, inclusion proof, signed checkpoint, SET).
//!
//! ```
//! use registry_provenance::testing::TestPki;
//! use registry_provenance::{TrustRoots, VerifyRequest, verify};
//!
//! let pki = TestPki::new();
//! let trust = TrustRoots::from_json(&pki.trusted_root_json())?;
//! let manifest = serde_json::json!({ "name": "io.github.alice/weather", "version": "1.0.0" });
//! let bundle = pki.keyless(&manifest, "io.github.alice/weather", "1.0.0").owner("alice").build();
//! let summary = verify(&VerifyRequest {
//!     manifest: &manifest,
//!     name: "io.github.alice/weather",
//!     version: "1.0.0",
//!     bundle: &bundle,
//!     trust: &trust,
//!     registered_keys: &[],
//! })?;
//! assert_eq!(summary.repository.as_deref(), Some("https://github.com/alice/server"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Recipe: the leaf certificate is issued twice with identical parameters, first without and then with the
//! embedded SCT, whose signature covers the RFC 6962 precertificate entry (issuer key hash + TBS without the SCT
//! extension). The Rekor side is a `dsse` 0.0.1 entry in a small Merkle tree whose other leaves are fillers; the
//! checkpoint is a signed note over `origin / size / root`, and the SET signs the JCS of
//! `{body, integratedTime, logID, logIndex}`. Times, serial numbers and names are fixed; only keys (and ECDSA
//! signatures) are random.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData as _, SanType,
    SerialNumber,
};
use ring::digest::{SHA256, digest};
use serde_json::{Value, json};
use time::OffsetDateTime;
use x509_cert::der::{Decode as _, Encode as _};

use crate::{
    BUNDLE_MEDIA_TYPE, GITHUB_ACTIONS_ISSUER, IN_TOTO_PAYLOAD_TYPE, KeyAlgorithm,
    PUBLISH_PREDICATE, SLSA_PREDICATE, STATEMENT_TYPE, SigningKey, dsse, pem,
};

/// Default integrated time: 2025-06-15T15:06:40Z.
pub const DEFAULT_INTEGRATED_TIME: i64 = 1_750_000_000;
/// Trust-root validity start and CA notBefore: 2020-01-01T00:00:00Z.
const CA_NOT_BEFORE: i64 = 1_577_836_800;
/// CA notAfter: 2040-01-01T00:00:00Z.
const CA_NOT_AFTER: i64 = 2_208_988_800;
const TRUST_START: &str = "2020-01-01T00:00:00Z";
const REKOR_ORIGIN: &str = "rekor.mcp-reg.test - 4242424242424242424";
const REKOR_NAME: &str = "rekor.mcp-reg.test";
/// Fulcio's private enterprise arc 1.3.6.1.4.1.57264.1.
const FULCIO_ARC: [u64; 8] = [1, 3, 6, 1, 4, 1, 57264, 1];
/// RFC 6962 embedded SCT list extension.
const SCT_LIST_OID: [u64; 10] = [1, 3, 6, 1, 4, 1, 11129, 2, 4, 2];

/// The throwaway PKI. Creating one generates three P-256 keys and a self-signed CA certificate.
pub struct TestPki {
    ca_params: CertificateParams,
    ca_key: KeyPair,
    ca_der: Vec<u8>,
    ct_key: SigningKey,
    rekor_key: SigningKey,
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

impl TestPki {
    /// A fresh PKI.
    ///
    /// # Panics
    /// Only if key generation or certificate encoding fails, which does not happen with valid fixed inputs.
    pub fn new() -> Self {
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("CA key");
        let mut ca_params = CertificateParams::default();
        ca_params.distinguished_name = DistinguishedName::new();
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "mcp-reg test");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "mcp-reg test fulcio");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        ca_params.serial_number = Some(SerialNumber::from(vec![0x01, 0x5e, 0xed]));
        ca_params.not_before = at(CA_NOT_BEFORE);
        ca_params.not_after = at(CA_NOT_AFTER);
        let ca_der = ca_params
            .self_signed(&ca_key)
            .expect("CA certificate")
            .der()
            .to_vec();
        Self {
            ca_params,
            ca_key,
            ca_der,
            ct_key: SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("CT key"),
            rekor_key: SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("Rekor key"),
        }
    }

    /// A `trusted_root.json` for [`crate::TrustRoots::from_json`]: this CA, CT log and Rekor log.
    pub fn trusted_root_json(&self) -> String {
        self.trusted_root(true).to_string()
    }

    /// The same trust root without the Rekor key: bundles from this PKI then name an unknown log.
    pub fn trusted_root_json_without_rekor(&self) -> String {
        self.trusted_root(false).to_string()
    }

    /// Hex log ID (SHA-256 of the SPKI) of this PKI's Rekor key.
    pub fn rekor_log_id(&self) -> String {
        hex::encode(self.rekor_log_id_bytes())
    }

    /// The CA certificate, DER.
    pub fn ca_certificate_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// Start a keyless bundle for `manifest` published as `name`@`version`; see [`KeylessBuilder`] for the knobs.
    pub fn keyless<'p>(
        &'p self,
        manifest: &Value,
        name: &str,
        version: &str,
    ) -> KeylessBuilder<'p> {
        KeylessBuilder {
            pki: self,
            manifest: manifest.clone(),
            name: name.to_owned(),
            version: version.to_owned(),
            owner: None,
            repository: None,
            commit: "0123456789abcdef0123456789abcdef01234567".to_owned(),
            workflow_ref: None,
            issuer: GITHUB_ACTIONS_ISSUER.to_owned(),
            runner: "github-hosted".to_owned(),
            integrated_time: DEFAULT_INTEGRATED_TIME,
            validity: None,
            log_index: 4,
            predicate_type: SLSA_PREDICATE.to_owned(),
            subject_name: None,
            subject_digest: None,
            statement: None,
            tamper_inclusion_proof: false,
            tamper_checkpoint: false,
        }
    }

    fn rekor_log_id_bytes(&self) -> Vec<u8> {
        sha256(&self.rekor_key.public_key().to_spki_der())
    }

    fn ct_log_id_bytes(&self) -> Vec<u8> {
        sha256(&self.ct_key.public_key().to_spki_der())
    }

    fn trusted_root(&self, with_rekor: bool) -> Value {
        let log = |base_url: &str, key: &SigningKey| {
            let spki = key.public_key().to_spki_der();
            json!({
                "baseUrl": base_url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": STANDARD.encode(&spki),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": { "start": TRUST_START },
                },
                "logId": { "keyId": STANDARD.encode(sha256(&spki)) },
            })
        };
        let tlogs = if with_rekor {
            vec![log("https://rekor.mcp-reg.test", &self.rekor_key)]
        } else {
            Vec::new()
        };
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": tlogs,
            "certificateAuthorities": [{
                "subject": { "organization": "mcp-reg test", "commonName": "mcp-reg test fulcio" },
                "uri": "https://fulcio.mcp-reg.test",
                "certChain": { "certificates": [{ "rawBytes": STANDARD.encode(&self.ca_der) }] },
                "validFor": { "start": TRUST_START },
            }],
            "ctlogs": [log("https://ctfe.mcp-reg.test", &self.ct_key)],
            "timestampAuthorities": [],
        })
    }
}

/// Builder for one keyless bundle. Defaults: a GitHub Actions identity for `<owner>/<repo>` (owner `octo`,
/// repository `<owner>/server`), workflow `.github/workflows/release.yml@refs/tags/v<version>`, SLSA predicate,
/// subject `<name>@<version>` with the manifest digest, integrated time [`DEFAULT_INTEGRATED_TIME`], a
/// ten-minute certificate starting 30 s before it, log index 4 in a tree of 5.
#[must_use]
pub struct KeylessBuilder<'p> {
    pki: &'p TestPki,
    manifest: Value,
    name: String,
    version: String,
    owner: Option<String>,
    repository: Option<String>,
    commit: String,
    workflow_ref: Option<String>,
    issuer: String,
    runner: String,
    integrated_time: i64,
    validity: Option<(i64, i64)>,
    log_index: u64,
    predicate_type: String,
    subject_name: Option<String>,
    subject_digest: Option<String>,
    statement: Option<Value>,
    tamper_inclusion_proof: bool,
    tamper_checkpoint: bool,
}

impl KeylessBuilder<'_> {
    /// Repository owner (OID .1.16 `https://github.com/<owner>`); also the default repository's owner.
    pub fn owner(mut self, owner: &str) -> Self {
        self.owner = Some(owner.to_owned());
        self
    }

    /// `owner/repo` (OIDs .1.5 and .1.12); also the default owner when [`Self::owner`] is not set.
    pub fn repository(mut self, repository: &str) -> Self {
        self.repository = Some(repository.to_owned());
        self
    }

    /// Source commit SHA (.1.3, .1.10, .1.13, .1.19).
    pub fn commit(mut self, commit: &str) -> Self {
        commit.clone_into(&mut self.commit);
        self
    }

    /// GitHub's `workflow_ref` claim, `owner/repo/.github/workflows/file.yml@refs/...`: the SAN is
    /// `https://github.com/<workflow_ref>` and the part after `@` is the source ref.
    pub fn workflow_ref(mut self, workflow_ref: &str) -> Self {
        self.workflow_ref = Some(workflow_ref.to_owned());
        self
    }

    /// OIDC issuer (.1.1 and .1.8).
    pub fn issuer(mut self, issuer: &str) -> Self {
        issuer.clone_into(&mut self.issuer);
        self
    }

    /// Runner environment (.1.11).
    pub fn runner(mut self, runner: &str) -> Self {
        runner.clone_into(&mut self.runner);
        self
    }

    /// Rekor integrated time, Unix seconds (the certificate window follows unless set with [`Self::validity`]).
    pub fn integrated_time(mut self, seconds: i64) -> Self {
        self.integrated_time = seconds;
        self
    }

    /// Certificate notBefore/notAfter, Unix seconds.
    pub fn validity(mut self, not_before: i64, not_after: i64) -> Self {
        self.validity = Some((not_before, not_after));
        self
    }

    /// A certificate that had expired an hour before the entry was logged.
    pub fn expired_at_log_time(self) -> Self {
        let at = self.integrated_time;
        self.validity(at - 4200, at - 3600)
    }

    /// Global log index; the tree holds `log_index + 1` leaves with ours last.
    pub fn log_index(mut self, index: u64) -> Self {
        self.log_index = index;
        self
    }

    /// Predicate type; [`PUBLISH_PREDICATE`] gets our `{name, version}` predicate, others a small SLSA-like one.
    pub fn predicate_type(mut self, predicate_type: &str) -> Self {
        predicate_type.clone_into(&mut self.predicate_type);
        self
    }

    /// Subject name instead of `<name>@<version>`.
    pub fn subject_name(mut self, name: &str) -> Self {
        self.subject_name = Some(name.to_owned());
        self
    }

    /// Subject sha256 (hex) instead of the manifest digest.
    pub fn subject_digest(mut self, hex: &str) -> Self {
        self.subject_digest = Some(hex.to_owned());
        self
    }

    /// Sign this statement verbatim instead of the generated one.
    pub fn statement(mut self, statement: Value) -> Self {
        self.statement = Some(statement);
        self
    }

    /// Flip a bit in the inclusion proof's first hash (the checkpoint stays validly signed).
    pub fn tamper_inclusion_proof(mut self) -> Self {
        self.tamper_inclusion_proof = true;
        self
    }

    /// Change the checkpoint's tree size after it was signed.
    pub fn tamper_checkpoint(mut self) -> Self {
        self.tamper_checkpoint = true;
        self
    }

    /// The bundle JSON.
    ///
    /// # Panics
    /// If the manifest cannot be canonicalized (numbers beyond 2^53) and no explicit statement or digest was set.
    pub fn build(self) -> Value {
        let owner = self
            .owner
            .clone()
            .or_else(|| {
                self.repository
                    .as_deref()
                    .and_then(|repo| repo.split('/').next())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "octo".to_owned());
        let repository = self
            .repository
            .clone()
            .unwrap_or_else(|| format!("{owner}/server"));
        let workflow_ref = self.workflow_ref.clone().unwrap_or_else(|| {
            format!(
                "{repository}/.github/workflows/release.yml@refs/tags/v{}",
                self.version
            )
        });
        let git_ref = workflow_ref
            .split_once('@')
            .map_or("refs/heads/main", |(_, git_ref)| git_ref)
            .to_owned();
        let san = format!("https://github.com/{workflow_ref}");
        let run_url = format!("https://github.com/{repository}/actions/runs/1234567890/attempts/1");

        let statement = self
            .statement
            .clone()
            .unwrap_or_else(|| self.statement_value());
        let payload = serde_json::to_vec(&statement).expect("statement serializes");

        let leaf_key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("leaf key");
        let leaf_der = self.leaf_certificate(
            &leaf_key,
            &Identity {
                san: &san,
                owner: &owner,
                repository: &repository,
                git_ref: &git_ref,
                run_url: &run_url,
            },
        );

        // DSSE envelope signed by the leaf key.
        let signature = leaf_key
            .sign(&dsse::pae(IN_TOTO_PAYLOAD_TYPE, &payload))
            .expect("DSSE signature");
        let envelope = dsse::envelope_json(IN_TOTO_PAYLOAD_TYPE, &payload, &signature, "");

        // Rekor `dsse` 0.0.1 entry.
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": { "algorithm": "sha256", "value": hex::encode(sha256(&serde_json::to_vec(&envelope).expect("envelope serializes"))) },
                "payloadHash": { "algorithm": "sha256", "value": hex::encode(sha256(&payload)) },
                "signatures": [{
                    "signature": STANDARD.encode(&signature),
                    "verifier": STANDARD.encode(pem::encode("CERTIFICATE", &leaf_der)),
                }],
            },
        });
        let body = registry_schema::canonicalize(&body).expect("Rekor body canonicalizes");
        let tlog_entry = self.tlog_entry(&body);

        json!({
            "mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": {
                "certificate": { "rawBytes": STANDARD.encode(&leaf_der) },
                "tlogEntries": [tlog_entry],
            },
            "dsseEnvelope": envelope,
        })
    }

    /// The Fulcio-style leaf certificate for `leaf_key`: issued once without and once with the embedded SCT,
    /// whose signature covers the first issuance's TBS (the RFC 6962 precertificate form).
    fn leaf_certificate(&self, leaf_key: &SigningKey, id: &Identity<'_>) -> Vec<u8> {
        let pki = self.pki;
        let leaf_rcgen = KeyPair::try_from(leaf_key.to_pkcs8_der()).expect("leaf key for rcgen");
        let (not_before, not_after) = self
            .validity
            .unwrap_or((self.integrated_time - 30, self.integrated_time + 570));
        let raw = |n: u64, value: &str| {
            CustomExtension::from_oid_content(&fulcio_oid(n), value.as_bytes().to_vec())
        };
        let utf8 = |n: u64, value: &str| {
            CustomExtension::from_oid_content(&fulcio_oid(n), der_utf8(value))
        };
        let extensions = vec![
            raw(1, &self.issuer),
            raw(2, "push"),
            raw(3, &self.commit),
            raw(4, "release"),
            raw(5, id.repository),
            raw(6, id.git_ref),
            utf8(8, &self.issuer),
            utf8(9, id.san),
            utf8(10, &self.commit),
            utf8(11, &self.runner),
            utf8(12, &format!("https://github.com/{}", id.repository)),
            utf8(13, &self.commit),
            utf8(14, id.git_ref),
            utf8(15, "100001"),
            utf8(16, &format!("https://github.com/{}", id.owner)),
            utf8(17, "200001"),
            utf8(18, id.san),
            utf8(19, &self.commit),
            utf8(20, "push"),
            utf8(21, id.run_url),
            utf8(22, "public"),
        ];
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.serial_number = Some(SerialNumber::from(vec![0x42, 0x00, 0x01]));
        params.not_before = at(not_before);
        params.not_after = at(not_after);
        params.subject_alt_names = vec![SanType::URI(id.san.try_into().expect("SAN URI"))];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.use_authority_key_identifier_extension = true;
        params.custom_extensions = extensions;
        let issuer = Issuer::from_params(&pki.ca_params, &pki.ca_key);
        let precert = params
            .signed_by(&leaf_rcgen, &issuer)
            .expect("precertificate");
        let tbs = x509_cert::Certificate::from_der(precert.der())
            .expect("precertificate parses")
            .tbs_certificate
            .to_der()
            .expect("TBS encodes");
        let sct_list = self.sct_list(&tbs, not_before);
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                &SCT_LIST_OID,
                der_octet_string(&sct_list),
            ));
        params
            .signed_by(&leaf_rcgen, &issuer)
            .expect("certificate")
            .der()
            .to_vec()
    }

    fn statement_value(&self) -> Value {
        let digest = self.subject_digest.clone().unwrap_or_else(|| {
            crate::manifest_digest(&self.manifest)
                .expect("manifest canonicalizes")
                .to_hex()
        });
        let predicate = if self.predicate_type == PUBLISH_PREDICATE {
            json!({ "name": self.name, "version": self.version })
        } else {
            json!({
                "buildDefinition": {
                    "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                    "externalParameters": { "workflow": { "path": ".github/workflows/release.yml" } },
                },
                "runDetails": { "builder": { "id": "https://github.com/actions/runner/github-hosted" } },
            })
        };
        json!({
            "_type": STATEMENT_TYPE,
            "subject": [{
                "name": self.subject_name.clone().unwrap_or_else(|| format!("{}@{}", self.name, self.version)),
                "digest": { "sha256": digest },
            }],
            "predicateType": self.predicate_type,
            "predicate": predicate,
        })
    }

    /// TLS-encoded `SignedCertificateTimestampList` with one SCT over the precertificate `tbs`.
    fn sct_list(&self, tbs: &[u8], not_before: i64) -> Vec<u8> {
        let pki = self.pki;
        let timestamp_ms = u64::try_from(not_before).unwrap_or(0) * 1000;
        let issuer_key_hash = sha256(&pki.ca_key.subject_public_key_info());
        let mut signed = vec![0x00, 0x00]; // v1, certificate_timestamp
        signed.extend_from_slice(&timestamp_ms.to_be_bytes());
        signed.extend_from_slice(&[0x00, 0x01]); // precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(&u24(tbs.len()));
        signed.extend_from_slice(tbs);
        signed.extend_from_slice(&[0x00, 0x00]); // no extensions
        let signature = pki.ct_key.sign(&signed).expect("SCT signature");

        let mut sct = vec![0x00]; // v1
        sct.extend_from_slice(&pki.ct_log_id_bytes());
        sct.extend_from_slice(&timestamp_ms.to_be_bytes());
        sct.extend_from_slice(&[0x00, 0x00]); // no extensions
        sct.extend_from_slice(&[0x04, 0x03]); // sha256, ecdsa
        sct.extend_from_slice(&u16_len(signature.len()));
        sct.extend_from_slice(&signature);

        let mut list = u16_len(sct.len() + 2).to_vec();
        list.extend_from_slice(&u16_len(sct.len()));
        list.extend_from_slice(&sct);
        list
    }

    fn tlog_entry(&self, body: &[u8]) -> Value {
        let pki = self.pki;
        let log_id = pki.rekor_log_id_bytes();
        let leaf = leaf_hash(body);
        let mut leaves: Vec<Vec<u8>> = (0..self.log_index)
            .map(|i| leaf_hash(format!("filler leaf {i}").as_bytes()))
            .collect();
        leaves.push(leaf);
        let index = leaves.len() - 1;
        let root = tree_hash(&leaves);
        let mut proof = audit_path(index, &leaves);
        if self.tamper_inclusion_proof
            && let Some(first) = proof.first_mut()
        {
            first[0] ^= 0x01;
        }

        let size = leaves.len();
        let note_body = format!("{REKOR_ORIGIN}\n{size}\n{}\n", STANDARD.encode(&root));
        let note_signature = pki
            .rekor_key
            .sign(note_body.as_bytes())
            .expect("checkpoint signature");
        let signed_body = if self.tamper_checkpoint {
            format!("{REKOR_ORIGIN}\n{}\n{}\n", size + 1, STANDARD.encode(&root))
        } else {
            note_body
        };
        let checkpoint = format!(
            "{signed_body}\n\u{2014} {REKOR_NAME} {}\n",
            STANDARD.encode([&log_id[..4], &note_signature[..]].concat())
        );

        let body_b64 = STANDARD.encode(body);
        let set_payload = json!({
            "body": body_b64,
            "integratedTime": self.integrated_time,
            "logID": hex::encode(&log_id),
            "logIndex": self.log_index,
        });
        let set = pki
            .rekor_key
            .sign(&registry_schema::canonicalize(&set_payload).expect("SET payload canonicalizes"))
            .expect("SET signature");

        json!({
            "logIndex": self.log_index.to_string(),
            "logId": { "keyId": STANDARD.encode(&log_id) },
            "kindVersion": { "kind": "dsse", "version": "0.0.1" },
            "integratedTime": self.integrated_time.to_string(),
            "inclusionPromise": { "signedEntryTimestamp": STANDARD.encode(&set) },
            "inclusionProof": {
                "logIndex": index.to_string(),
                "rootHash": STANDARD.encode(&root),
                "treeSize": size.to_string(),
                "hashes": proof.iter().map(|hash| STANDARD.encode(hash)).collect::<Vec<_>>(),
                "checkpoint": { "envelope": checkpoint },
            },
            "canonicalizedBody": body_b64,
        })
    }
}

/// The GitHub identity claims of one leaf certificate.
struct Identity<'a> {
    san: &'a str,
    owner: &'a str,
    repository: &'a str,
    git_ref: &'a str,
    run_url: &'a str,
}

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).expect("timestamp in range")
}

fn fulcio_oid(n: u64) -> Vec<u64> {
    let mut oid = FULCIO_ARC.to_vec();
    oid.push(n);
    oid
}

fn sha256(data: &[u8]) -> Vec<u8> {
    digest(&SHA256, data).as_ref().to_vec()
}

fn u16_len(len: usize) -> [u8; 2] {
    u16::try_from(len).expect("fits in u16").to_be_bytes()
}

fn u24(len: usize) -> [u8; 3] {
    let bytes = u32::try_from(len).expect("fits in u24").to_be_bytes();
    [bytes[1], bytes[2], bytes[3]]
}

/// DER tag-length-value.
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).expect("short length"));
    } else {
        let bytes = u32::try_from(len).expect("length fits").to_be_bytes();
        let skip = bytes.iter().take_while(|byte| **byte == 0).count();
        out.push(0x80 | u8::try_from(4 - skip).expect("length of length"));
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn der_utf8(value: &str) -> Vec<u8> {
    der_tlv(0x0c, value.as_bytes())
}

fn der_octet_string(content: &[u8]) -> Vec<u8> {
    der_tlv(0x04, content)
}

/// RFC 6962 leaf hash: SHA-256(0x00 ‖ data).
fn leaf_hash(data: &[u8]) -> Vec<u8> {
    sha256(&[&[0x00], data].concat())
}

/// RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right).
fn node_hash(left: &[u8], right: &[u8]) -> Vec<u8> {
    sha256(&[&[0x01], left, right].concat())
}

/// Largest power of two strictly below `n` (n ≥ 2).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 6962 MTH over leaf hashes.
fn tree_hash(leaves: &[Vec<u8>]) -> Vec<u8> {
    if leaves.len() == 1 {
        return leaves[0].clone();
    }
    let k = split_point(leaves.len());
    node_hash(&tree_hash(&leaves[..k]), &tree_hash(&leaves[k..]))
}

/// RFC 6962 PATH(m, D[n]), leaf to root.
fn audit_path(m: usize, leaves: &[Vec<u8>]) -> Vec<Vec<u8>> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let k = split_point(leaves.len());
    if m < k {
        let mut path = audit_path(m, &leaves[..k]);
        path.push(tree_hash(&leaves[k..]));
        path
    } else {
        let mut path = audit_path(m - k, &leaves[k..]);
        path.push(tree_hash(&leaves[..k]));
        path
    }
}
