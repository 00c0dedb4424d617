package bsondoc

import (
	"testing"

	"go.mongodb.org/mongo-driver/bson"
)

// The document FuzzDecodeOplogEntry found: bson.Raw.Validate accepts it,
// and driver v1.17.10's bson.Unmarshal panics on it (a string whose
// length field is negative, inside an array).
const crasher = "p\x00\x00\x00\x03cursor\x00[\x00\x00\x00\x04firstBatch\x00'\x00\x00\x00\x030\x00\x1f\x00\x00\x00\x11ts\x00\x01\x00\x00\x00@\xdd0f\tsall\x00\x00B\xe0.\x8f\x01\x00\x00\x00\x00\x12id\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02ns\x00\x0f\x00\xf6\xffkocal.oplog.rs\x00\x00\x10ok\x00\x01\x00\x00\x00\x00"

func TestUnmarshal(t *testing.T) {
	var v struct {
		Cursor struct {
			FirstBatch []struct {
				NS string `bson:"ns"`
			} `bson:"firstBatch"`
		} `bson:"cursor"`
	}
	if err := bson.Raw(crasher).Validate(); err != nil {
		t.Logf("the driver's Validate now refuses it (%v); Unmarshal must still answer an error", err)
	}
	if err := Unmarshal([]byte(crasher), &v); err == nil {
		t.Fatal("Unmarshal of a malformed document: no error")
	}
	good, _ := bson.Marshal(bson.M{"cursor": bson.M{"firstBatch": bson.A{bson.M{"ns": "local.oplog.rs"}}}})
	if err := Unmarshal(good, &v); err != nil || v.Cursor.FirstBatch[0].NS != "local.oplog.rs" {
		t.Fatalf("Unmarshal(good) = %v, %+v", err, v)
	}
}
