package main

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// prevRow is one number kept in the data block of RESULTS.md.
type prevRow struct {
	Key   string  `json:"key"`
	N     int     `json:"n"`
	Wall  float64 `json:"wall_ms"`
	CPU   float64 `json:"cpu_ms"`
	RSSKB int64   `json:"rss_kb"`
}

type prevData struct {
	When string    `json:"when"`
	Rows []prevRow `json:"rows"`
}

const dataMarker = "<!-- bench-data "

func parsePrev(md []byte) (*prevData, error) {
	i := bytes.Index(md, []byte(dataMarker))
	if i < 0 {
		return nil, nil
	}
	rest := md[i+len(dataMarker):]
	j := bytes.Index(rest, []byte(" -->"))
	if j < 0 {
		return nil, fmt.Errorf("unterminated data block")
	}
	var d prevData
	if err := json.Unmarshal(rest[:j], &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func (r *Report) data() prevData {
	d := prevData{When: r.Started.Format("2006-01-02 15:04 UTC")}
	for _, t := range r.Targets {
		for _, l := range r.Levels {
			m := r.get(t.Key, l.N)
			if m == nil || !m.Valid() {
				continue
			}
			d.Rows = append(d.Rows, prevRow{Key: t.Key, N: l.N,
				Wall: float64(m.Median().Microseconds()) / 1000, CPU: float64(m.CPU().Microseconds()) / 1000, RSSKB: m.RSSKB})
		}
	}
	return d
}
