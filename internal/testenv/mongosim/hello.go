package mongosim

import (
	"time"

	"go.mongodb.org/mongo-driver/bson"
)

// helloEnd appends what every hello ends with, on a mongod as on a
// mongos (src/mongo/db/repl/hello_response.cpp and the hello commands:
// the message limits, localTime, the session timeout, the connection,
// the wire versions, readOnly), the SCRAM mechanisms when the client
// asks and users exist, and ok.
func helloEnd(d bson.D, r *Request, now time.Time, connID, wire int32, users bool) bson.D {
	d = append(d,
		bson.E{Key: "maxBsonObjectSize", Value: int32(16 * 1024 * 1024)},
		bson.E{Key: "maxMessageSizeBytes", Value: int32(48000000)},
		bson.E{Key: "maxWriteBatchSize", Value: int32(100000)},
		bson.E{Key: "localTime", Value: date(now)},
		bson.E{Key: "logicalSessionTimeoutMinutes", Value: int32(30)},
		bson.E{Key: "connectionId", Value: connID},
		bson.E{Key: "minWireVersion", Value: int32(0)},
		bson.E{Key: "maxWireVersion", Value: wire},
		bson.E{Key: "readOnly", Value: false},
	)
	if users {
		if _, ok := r.Cmd.Lookup("saslSupportedMechs").StringValueOK(); ok {
			d = append(d, bson.E{Key: "saslSupportedMechs", Value: bson.A{"SCRAM-SHA-256"}})
		}
	}
	return append(d, bson.E{Key: "ok", Value: 1.0})
}
