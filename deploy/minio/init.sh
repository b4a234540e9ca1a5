#!/bin/sh
# One-shot: wait for MinIO, create the bucket with versioning, create the application's
# access key limited to that bucket (minio/app-policy.json). Idempotent: safe to re-run.
#
# Versioning: the platform erases a record by writing a new dataset version and then
# destroying the old objects AND every S3 version of them (DeleteObjectVersion), so an
# overwrite never leaves a recoverable copy behind.
# Object Lock (--with-lock, which implies versioning) but NO default retention: only the
# signed audit-chain anchors are written with a compliance-mode retain-until date. A
# default retention would lock every dataset object too and make erasure impossible.
# Object Lock can only be switched on when a bucket is created.
#
# Audit anchors (signed tree heads of the transparency log) go to their OWN bucket,
# erasure-anchors: Object Lock with a default compliance-mode retention, and a separate
# access key (minio/anchor-policy.json) that may put and read but never delete, hide or
# unlock. The application's key has no access to that bucket at all.
set -eu
bucket=erasure   # the name app-policy.json grants access to
until mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null 2>&1; do
    echo "waiting for minio..."
    sleep 1
done
mc mb --ignore-existing --with-lock "local/$bucket"
mc version enable "local/$bucket"
mc anonymous set none "local/$bucket"
mc admin policy create local erasure-app /init/app-policy.json
mc admin user add local "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"
mc admin policy attach local erasure-app --user "$S3_ACCESS_KEY_ID" 2>/dev/null \
    || echo "policy already attached"
anchors=erasure-anchors   # the name anchor-policy.json grants access to
mc mb --ignore-existing --with-lock "local/$anchors"
mc version enable "local/$anchors"
mc retention set --default COMPLIANCE "${ANCHOR_RETENTION_DAYS:-2555}d" "local/$anchors"
mc anonymous set none "local/$anchors"
mc admin policy create local erasure-anchor-writer /init/anchor-policy.json
mc admin user add local "$S3_ANCHOR_ACCESS_KEY_ID" "$S3_ANCHOR_SECRET_ACCESS_KEY"
mc admin policy attach local erasure-anchor-writer --user "$S3_ANCHOR_ACCESS_KEY_ID" 2>/dev/null \
    || echo "anchor policy already attached"
echo "bucket $anchors ready (object lock, default compliance retention), access key $S3_ANCHOR_ACCESS_KEY_ID put-only"
echo "bucket $bucket ready (versioning + object lock, no default retention), access key $S3_ACCESS_KEY_ID limited to it"
