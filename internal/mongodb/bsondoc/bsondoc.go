// Package bsondoc decodes the BSON documents a server sends into Go
// values, as bson.Unmarshal does, without letting a malformed document
// crash the check.
//
// Why: go.mongodb.org/mongo-driver v1.17.10 (the driver, pinned for
// MongoDB 4.2 support) panics with "index out of range" in
// bsonrw.valueReader.readByte on some documents that
// bson.Raw.Validate accepts, for example a string element inside an array
// whose length field is negative (found by FuzzDecodeOplogEntry). A
// server, a proxy or a corrupted reply must give the check an error it
// can name, not an internal error.
package bsondoc

import (
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
)

// Unmarshal decodes doc into v (a pointer, as for bson.Unmarshal). A
// document the driver cannot read, or panics on, is an error
// "malformed BSON document: ...".
func Unmarshal(doc []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed BSON document: %v", r)
		}
	}()
	return bson.Unmarshal(doc, v)
}
