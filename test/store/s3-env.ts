/** S3 test configuration from the environment (set by `eval "$(bash conformance/s3/ceph-rgw.sh start)"`). */
export const s3env = {
  endpoint: process.env.LTXKIT_S3_ENDPOINT ?? "",
  bucket: process.env.LTXKIT_S3_BUCKET ?? "",
  accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "",
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "",
  region: process.env.AWS_REGION ?? "us-east-1",
};
export const haveS3 = Boolean(s3env.endpoint && s3env.bucket && s3env.accessKeyId);
/** In CI (LTXKIT_REQUIRE_S3=1 or LTXKIT_REQUIRE_ALL=1) a missing server is a failure, not a skip. */
export const requireS3 = process.env.LTXKIT_REQUIRE_S3 === "1" || process.env.LTXKIT_REQUIRE_ALL === "1";
export const skipS3 = !haveS3 && !requireS3;
if (skipS3) console.warn("SKIP: S3 suites need LTXKIT_S3_ENDPOINT etc. (eval \"$(bash conformance/s3/ceph-rgw.sh start)\")");
