//! The vendored schemas are the official files, byte for byte (checksums from SOURCES.md).

use sha2::{Digest, Sha256};

#[test]
fn vendored_schemas_match_their_recorded_checksums() {
    for (text, expected) in [
        (
            include_str!("../schemas/server.schema.2025-12-11.json"),
            "b482eb1ff78a30d9a2df3bfbd549637e61cd60db23aef95a2c3c9ec498003ab3",
        ),
        (
            include_str!("../schemas/server.schema.draft.json"),
            "e5a888b0131dc15ec1da6d6bcf8ce7ec3727b9bac44f5ca15e847cd78837fed3",
        ),
    ] {
        assert_eq!(hex::encode(Sha256::digest(text.as_bytes())), expected);
    }
}
