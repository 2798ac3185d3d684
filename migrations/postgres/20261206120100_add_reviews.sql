-- The security review of each published version (issue 17), made at publish: `review` is the whole
-- review (`{"findings": [...], "highest": ...}`), `review_summary` what every read of the version
-- carries in `_meta["dev.mcp-reg/review"]` (`{"highest", "counts"}`). NULL for versions stored before,
-- or imported / mirrored, or published with the review off: those are reviewed when asked.
alter table server_versions add column review text;
alter table server_versions add column review_summary text;
