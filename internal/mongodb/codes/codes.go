// Package codes names the MongoDB server error codes that check_mongodb
// and the test simulators use, once: numbers and codeNames as the server
// defines them in src/mongo/base/error_codes.yml.
package codes

import (
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/mongo"
)

// Code is a server error code (the "code" of a failed command's reply).
type Code int32

// The codes the checks react to or the simulators answer with.
const (
	BadValue                Code = 2
	FailedToParse           Code = 9
	Unauthorized            Code = 13
	ProtocolError           Code = 17
	AuthenticationFailed    Code = 18
	NamespaceNotFound       Code = 26
	CursorNotFound          Code = 43
	CommandNotFound         Code = 59
	NoReplicationEnabled    Code = 76
	InvalidReplicaSetConfig Code = 93
	NotYetInitialized       Code = 94
)

var names = map[Code]string{
	BadValue: "BadValue", FailedToParse: "FailedToParse", Unauthorized: "Unauthorized",
	ProtocolError: "ProtocolError", AuthenticationFailed: "AuthenticationFailed",
	NamespaceNotFound: "NamespaceNotFound", CursorNotFound: "CursorNotFound", CommandNotFound: "CommandNotFound",
	NoReplicationEnabled: "NoReplicationEnabled", InvalidReplicaSetConfig: "InvalidReplicaSetConfig",
	NotYetInitialized: "NotYetInitialized",
}

// Name is the codeName the server sends with the code.
func (c Code) Name() string {
	if n, ok := names[c]; ok {
		return n
	}
	return fmt.Sprintf("Location%d", int32(c))
}

// Of returns the code of a command error the driver returned.
func Of(err error) (Code, bool) {
	var ce mongo.CommandError
	if errors.As(err, &ce) {
		return Code(ce.Code), true
	}
	return 0, false
}

// Is reports whether err is a command error with one of the codes.
func Is(err error, cs ...Code) bool {
	c, ok := Of(err)
	if !ok {
		return false
	}
	for _, want := range cs {
		if c == want {
			return true
		}
	}
	return false
}
