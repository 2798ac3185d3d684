//! The storage contract, written once and run on both engines: every test is an `async fn(TestDb)`, and
//! `registry_tests::on_both_engines!` generates `sqlite::<name>` and `postgres::<name>` from it. When the engines
//! disagree, the engine is wrong, not the test.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

// The tests, by topic, under `storage/` (a crate root finds its modules beside it, hence the paths).

#[path = "storage/helpers.rs"]
mod helpers;
#[path = "storage/keys.rs"]
mod keys;
#[path = "storage/listing.rs"]
mod listing;
#[path = "storage/policies.rs"]
mod policies;
#[path = "storage/publishing.rs"]
mod publishing;
#[path = "storage/search.rs"]
mod search;
#[path = "storage/summaries.rs"]
mod summaries;
#[path = "storage/timestamps.rs"]
mod timestamps;
#[path = "storage/writes.rs"]
mod writes;

use keys::*;
use listing::*;
use policies::*;
use publishing::*;
use search::*;
use summaries::*;
use timestamps::*;
use writes::*;

registry_tests::on_both_engines!(
    publish_then_find,
    duplicate_versions_are_refused,
    republishing_the_same_manifest_reports_the_stored_version,
    concurrent_publishes_of_one_version_leave_one_row,
    concurrent_publishes_of_different_versions_keep_one_latest,
    latest_follows_the_rules,
    keyset_pagination_walks_the_corpus_once,
    list_filters,
    updated_since_sees_status_and_latest_changes,
    search_matches_substrings_and_words,
    search_pagination_walks_every_hit_once,
    search_lists_a_servers_latest_before_its_other_versions,
    search_sees_documents_another_store_added,
    status_changes_report_what_changed,
    tokens_round_trip,
    import_skips_duplicates_and_sets_latest,
    text_with_nul_is_invalid_input,
    latest_flag_moves_keep_updated_at,
    imports_keep_the_sources_times_and_status,
    import_files_keep_official_metadata_and_skip_the_gate,
    compat_policy_overrides,
    key_log_records_every_key_change,
    key_log_backfills_keys_that_predate_it,
    imported_histories_get_contract_keys_at_the_next_publish,
    a_long_line_is_summarised_and_latest_still_follows_the_rules,
    a_history_the_summary_cannot_stand_for_is_read_whole,
    each_contract_of_the_line_is_compared_through_its_highest_release,
    search_index_loads_every_chunk,
);
