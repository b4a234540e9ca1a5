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
echo "bucket $bucket ready (versioning + object lock, no default retention), access key $S3_ACCESS_KEY_ID limited to it"
