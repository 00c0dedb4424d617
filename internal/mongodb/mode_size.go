package mongodb

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/mongodb/codes"
	"github.com/opschecks/opschecks/internal/plugin"
)

func init() {
	register("database-size", Mode{Run: modeDatabaseSize, Validate: needDatabase(false), Metric: true,
		Doc: "dbStats of --database: bytes on disk (storageSize + indexSize)"})
	register("collection-size", Mode{Run: modeCollectionSize, Validate: needDatabase(true), Metric: true,
		Doc: "collStats of --database/--collection: bytes on disk without indexes (storageSize)"})
	register("index-size", Mode{Run: modeIndexSize, Validate: needDatabase(false), Metric: true,
		Doc: "bytes of the indexes of --database (dbStats.indexSize), or of --collection (collStats.totalIndexSize)"})
}

func needDatabase(collection bool) func(o *Options) error {
	return func(o *Options) error {
		if o.Database == "" {
			return fmt.Errorf("--mode %s needs --database DB", o.Mode)
		}
		if collection && o.Collection == "" {
			return fmt.Errorf("--mode %s needs --collection NAME (and --database DB)", o.Mode)
		}
		return nil
	}
}

func (s *Session) dbStats(ctx context.Context, db string) (Doc, error) {
	var raw bson.Raw
	err := s.Run(ctx, db, bson.D{{Key: "dbStats", Value: 1}, {Key: "scale", Value: 1}}, &raw)
	if err != nil {
		return Doc{}, fmt.Errorf("dbStats on %s: %w", db, err)
	}
	return Doc{Name: "dbStats", Raw: raw}, nil
}

func (s *Session) collStats(ctx context.Context, db, coll string) (Doc, error) {
	var raw bson.Raw
	err := s.Run(ctx, db, bson.D{{Key: "collStats", Value: coll}, {Key: "scale", Value: 1}}, &raw)
	if err != nil {
		if codes.Is(err, codes.NamespaceNotFound) {
			return Doc{}, fmt.Errorf("collection %s.%s does not exist: check --database and --collection", db, coll)
		}
		return Doc{}, fmt.Errorf("collStats on %s.%s: %w", db, coll, err)
	}
	d := Doc{Name: "collStats", Raw: raw}
	// Recent servers report zeros for a collection that does not exist:
	// tell a typo from an empty collection.
	if n, err := d.Num("storageSize"); err == nil && n == 0 {
		names, err := s.Client.Database(db).ListCollectionNames(ctx, bson.D{{Key: "name", Value: coll}})
		if err == nil && len(names) == 0 {
			return Doc{}, fmt.Errorf("collection %s.%s does not exist: check --database and --collection", db, coll)
		}
	}
	return d, nil
}

func modeDatabaseSize(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	d, err := s.dbStats(ctx, o.Database)
	if err != nil {
		return nil, err
	}
	return databaseSizeResult(d, s.Target, o)
}

func modeCollectionSize(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	d, err := s.collStats(ctx, o.Database, o.Collection)
	if err != nil {
		return nil, err
	}
	return collectionSizeResult(d, s.Target, o)
}

func modeIndexSize(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	if o.Collection != "" {
		d, err := s.collStats(ctx, o.Database, o.Collection)
		if err != nil {
			return nil, err
		}
		return indexSizeResult(d, s.Target, o, "totalIndexSize", o.Database+"."+o.Collection)
	}
	d, err := s.dbStats(ctx, o.Database)
	if err != nil {
		return nil, err
	}
	return indexSizeResult(d, s.Target, o, "indexSize", o.Database)
}

const sizeHint = "compare with the free space of the data volume (df) and the growth trend in the perfdata; compact or drop unused data and indexes, or add space"

// databaseSizeResult: -w/-c apply to the bytes on disk, storageSize +
// indexSize. A size mode alerts only when ranges are given.
func databaseSizeResult(d Doc, target string, o *Options) (*plugin.Result, error) {
	v, err := d.Nums(nil, "dataSize", "storageSize", "indexSize")
	if err != nil {
		return nil, err
	}
	data, stor, idx := v[0], v[1], v[2]
	disk := stor + idx
	var r plugin.Result
	f := r.Judge(fmt.Sprintf("%s: database %s uses %s on disk (data %s, storage %s, indexes %s)", target, o.Database, plugin.Bytes(disk), plugin.Bytes(data), plugin.Bytes(stor), plugin.Bytes(idx)),
		plugin.Perf{Label: "db_disk_size", Value: disk, UOM: "B", Thresholds: o.pair("", ""), Min: plugin.F(0)},
		plugin.Perf{Label: "db_data_size", Value: data, UOM: "B", Min: plugin.F(0)},
		plugin.Perf{Label: "db_storage_size", Value: stor, UOM: "B", Min: plugin.F(0)},
		plugin.Perf{Label: "db_index_size", Value: idx, UOM: "B", Min: plugin.F(0)},
	)
	if n, err := d.Num("objects"); err == nil {
		f.Perf = append(f.Perf, plugin.Perf{Label: "db_objects", Value: n, Min: plugin.F(0)})
	}
	if n, err := d.Num("collections"); err == nil {
		f.Perf = append(f.Perf, plugin.Perf{Label: "db_collections", Value: n, Min: plugin.F(0)})
		if n == 0 {
			f.Detailf("database %s holds no collections: check the name given with --database", o.Database)
		}
	}
	if f.State != plugin.OK {
		f.Detailf(sizeHint)
	}
	return &r, nil
}

// collectionSizeResult: -w/-c apply to storageSize, the collection's data
// on disk without its indexes.
func collectionSizeResult(d Doc, target string, o *Options) (*plugin.Result, error) {
	v, err := d.Nums(nil, "size", "storageSize")
	if err != nil {
		return nil, err
	}
	size, stor := v[0], v[1]
	var r plugin.Result
	f := r.Judge(fmt.Sprintf("%s: collection %s.%s uses %s on disk (data %s)", target, o.Database, o.Collection, plugin.Bytes(stor), plugin.Bytes(size)),
		plugin.Perf{Label: "coll_storage_size", Value: stor, UOM: "B", Thresholds: o.pair("", ""), Min: plugin.F(0)},
		plugin.Perf{Label: "coll_data_size", Value: size, UOM: "B", Min: plugin.F(0)},
	)
	if idx, err := d.Num("totalIndexSize"); err == nil {
		f.Perf = append(f.Perf, plugin.Perf{Label: "coll_index_size", Value: idx, UOM: "B", Min: plugin.F(0)})
	}
	if n, err := d.Num("count"); err == nil {
		f.Perf = append(f.Perf, plugin.Perf{Label: "coll_objects", Value: n, Min: plugin.F(0)})
	}
	if f.State != plugin.OK {
		f.Detailf(sizeHint)
	}
	return &r, nil
}

// indexSizeResult: -w/-c apply to the total size of the indexes of a
// collection (collStats.totalIndexSize) or database (dbStats.indexSize).
func indexSizeResult(d Doc, target string, o *Options, field, what string) (*plugin.Result, error) {
	idx, err := d.Num(field)
	if err != nil {
		return nil, err
	}
	var r plugin.Result
	f := r.Judge(fmt.Sprintf("%s: indexes of %s use %s", target, what, plugin.Bytes(idx)),
		plugin.Perf{Label: "index_size", Value: idx, UOM: "B", Thresholds: o.pair("", ""), Min: plugin.F(0)})
	if n, err := d.Num("nindexes"); err == nil {
		f.Perf = append(f.Perf, plugin.Perf{Label: "indexes", Value: n, Min: plugin.F(0)})
	} else if n, err := d.Num("indexes"); err == nil {
		f.Perf = append(f.Perf, plugin.Perf{Label: "indexes", Value: n, Min: plugin.F(0)})
	}
	if f.State != plugin.OK {
		f.Detailf("indexes should fit in the WiredTiger cache; drop unused ones ($indexStats shows accesses) — " + sizeHint)
	}
	return &r, nil
}
