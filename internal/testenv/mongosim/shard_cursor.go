package mongosim

import (
	"fmt"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/mongodb/codes"
)

// collection returns the documents of a config collection; a find or
// aggregate on any other database is refused, so a test never passes on
// data the simulator made up.
func (c *Cluster) collection(r *Request, key string) (string, []bson.D, bson.D) {
	coll, _ := r.Cmd.Lookup(key).StringValueOK()
	ns := r.DB + "." + coll
	if r.DB != "config" {
		return ns, nil, CommandError(codes.BadValue, fmt.Sprintf("mongosim: the simulated mongos holds no data in %s", ns))
	}
	return ns, c.config[coll], nil
}

func decodeCmd(r *Request) (bson.D, error) {
	var d bson.D
	err := bson.Unmarshal(r.Cmd, &d)
	return d, err
}

func (c *Cluster) find(r *Request) bson.D {
	ns, docs, errReply := c.collection(r, "find")
	if errReply != nil {
		return errReply
	}
	cmd, err := decodeCmd(r)
	if err != nil {
		return CommandError(codes.FailedToParse, err.Error())
	}
	out, err := query(docs, cmd)
	if err != nil {
		return CommandError(codes.BadValue, err.Error())
	}
	single := false
	if v, ok := specOf(cmd, "singleBatch"); ok {
		single, _ = v.(bool)
	}
	return c.cursor(ns, out, batchSize(cmd), single)
}

func (c *Cluster) aggregate(r *Request) bson.D {
	cmd, err := decodeCmd(r)
	if err != nil {
		return CommandError(codes.FailedToParse, err.Error())
	}
	stages, _ := specOf(cmd, "pipeline")
	arr, _ := stages.(bson.A)
	cursorSpec, _ := docField(cmd, "cursor")
	if r.DB == "admin" && len(arr) > 0 {
		// $shardedDataDistribution (6.0.3+), which sh.status() asks for.
		return c.shardedDataDistribution(arr, cursorSpec)
	}
	ns, docs, errReply := c.collection(r, "aggregate")
	if errReply != nil {
		return errReply
	}
	out, err := pipeline(docs, arr)
	if err != nil {
		return CommandError(codes.BadValue, err.Error())
	}
	return c.cursor(ns, out, batchSize(cursorSpec), false)
}

// batchSize is the batchSize of a find or cursor spec (101 by default, as
// mongod's first batch).
func batchSize(d bson.D) int {
	if v, ok := specOf(d, "batchSize"); ok {
		if n := int(number(v)); n > 0 {
			return n
		}
	}
	return 101
}

// cursor answers with the first batch and keeps the rest for getMore
// (manual, find/aggregate output: cursor {firstBatch, id, ns}).
func (c *Cluster) cursor(ns string, docs []bson.D, n int, single bool) bson.D {
	first := docs[:min(n, len(docs))]
	rest := docs[len(first):]
	id := int64(0)
	if len(rest) > 0 && !single {
		c.mu.Lock()
		c.nextID++
		id = c.nextID
		c.cursors[id] = rest
		c.mu.Unlock()
	}
	return bson.D{{Key: "cursor", Value: bson.D{{Key: "firstBatch", Value: docsArray(first)},
		{Key: "id", Value: id}, {Key: "ns", Value: ns}}}, {Key: "ok", Value: 1.0}}
}

func (c *Cluster) getMore(r *Request) bson.D {
	id, _ := r.Cmd.Lookup("getMore").AsInt64OK()
	coll, _ := r.Cmd.Lookup("collection").StringValueOK()
	n := 101
	if v, ok := r.Cmd.Lookup("batchSize").AsInt64OK(); ok && v > 0 {
		n = int(v)
	}
	c.mu.Lock()
	rest, ok := c.cursors[id]
	batch := rest[:min(n, len(rest))]
	rest = rest[len(batch):]
	next := id
	if len(rest) == 0 {
		delete(c.cursors, id)
		next = 0
	} else {
		c.cursors[id] = rest
	}
	c.mu.Unlock()
	if !ok {
		return CommandError(codes.CursorNotFound, fmt.Sprintf("cursor id %d not found", id))
	}
	return bson.D{{Key: "cursor", Value: bson.D{{Key: "nextBatch", Value: docsArray(batch)},
		{Key: "id", Value: next}, {Key: "ns", Value: r.DB + "." + coll}}}, {Key: "ok", Value: 1.0}}
}

func (c *Cluster) killCursors(r *Request) bson.D {
	ids, _ := r.Cmd.Lookup("cursors").ArrayOK()
	vals, _ := ids.Values()
	var killed bson.A
	c.mu.Lock()
	for _, v := range vals {
		if id, ok := v.AsInt64OK(); ok {
			delete(c.cursors, id)
			killed = append(killed, id)
		}
	}
	c.mu.Unlock()
	return bson.D{{Key: "cursorsKilled", Value: killed}, {Key: "cursorsNotFound", Value: bson.A{}},
		{Key: "cursorsAlive", Value: bson.A{}}, {Key: "cursorsUnknown", Value: bson.A{}}, {Key: "ok", Value: 1.0}}
}
