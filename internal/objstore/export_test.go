package objstore

// Test helpers for the objstore_test package.
var (
	OpenAt     = openAt
	TestStores = testStores
)
