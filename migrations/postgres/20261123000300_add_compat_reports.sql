-- The compatibility gate's report for a version published through `POST /publish` (JSON text, as
-- computed then); null for versions that bypassed the gate (imports, mirrors).
alter table server_versions add column compat_report text;
