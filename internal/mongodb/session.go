package mongodb

// Session is a connected client and what the output says about the target.
type Session struct{}
