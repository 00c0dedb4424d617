package mongodb

// Options are check_mongodb's options (connection, auth, TLS, mode).
type Options struct {
	ReplOptions
}
