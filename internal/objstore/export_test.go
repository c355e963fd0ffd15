package objstore

// Test helpers for the objstore_test package.
var (
	OpenAt           = openAt
	TestStores       = testStores
	ServeS3          = serveS3
	S3Query          = s3Query
	WithoutPrivilege = withoutPrivilege
)
