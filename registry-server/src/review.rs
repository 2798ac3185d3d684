//! The security review at publish (issue 17): every version, the first one too, is reviewed by
//! `registry_schema::review`; the result is stored with it and served as a summary in
//! `_meta["dev.mcp-reg/review"]` and whole at `…/versions/{v}/review`. `--review-policy` decides what
//! a `high` finding does.

use registry_schema::Manifest;
use registry_schema::review::{Review, Severity, review_manifest_value};
use serde_json::{Value, json};

use crate::db::StoredReview;
use crate::error::{ApiError, ErrorItem};

/// What the registry does with the review of a new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReviewPolicy {
    /// Do not review at publish (reviews are still made when asked for).
    Off,
    /// Review, store and show the findings; refuse nothing.
    #[default]
    Report,
    /// Like `report`, and refuse a version with a `high` finding (422 with the findings).
    BlockHigh,
}

/// Reviews a manifest as sent (its `_meta` surface included).
pub fn review_of(manifest: &Manifest) -> Review {
    match serde_json::from_str::<Value>(manifest.raw()) {
        Ok(value) => review_manifest_value(&value),
        Err(_) => Review::default(),
    }
}

/// `{"highest", "counts": {"low", "medium", "high"}}`: what every read of the version carries.
pub fn summary(review: &Review) -> Value {
    let (low, medium, high) = review.counts();
    json!({
        "highest": registry_schema::review::highest_label(review.highest()),
        "counts": {"low": low, "medium": medium, "high": high},
    })
}

/// The review to store with a new version under `policy`; `block-high` refuses a `high` finding with
/// a 422 naming each such finding at its pointer (under `pointer_prefix`, where the server.json sits
/// in the body).
pub fn check_publish(
    manifest: &Manifest,
    policy: ReviewPolicy,
    pointer_prefix: &str,
) -> Result<Option<StoredReview>, ApiError> {
    if policy == ReviewPolicy::Off {
        return Ok(None);
    }
    let review = review_of(manifest);
    if policy == ReviewPolicy::BlockHigh && review.reaches(Severity::High) {
        let errors = review
            .findings
            .iter()
            .filter(|finding| finding.severity == Severity::High)
            .map(|finding| ErrorItem {
                pointer: Some(format!("{pointer_prefix}{}", finding.pointer)),
                location: None,
                rule: Some(finding.rule.clone()),
                message: format!("{} (evidence: {})", finding.message, finding.evidence),
            })
            .collect();
        return Err(ApiError::Unprocessable {
            detail: "the security review found high-severity problems in what this server tells \
                     the model; this registry refuses them (--review-policy block-high). See \
                     `mcp-reg review` and docs/security-review.md"
                .to_owned(),
            errors,
        });
    }
    let stored = StoredReview {
        review: serde_json::to_string(&review).map_err(anyhow::Error::from)?,
        summary: summary(&review).to_string(),
    };
    Ok(Some(stored))
}
