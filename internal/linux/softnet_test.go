package linux

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseSoftnetStat(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []SoftnetStat
		err  string
	}{
		{file: "2.6.32.txt", want: []SoftnetStat{
			{CPU: 0, Processed: 0x0a3f11c2, TimeSqueeze: 0x1b},
			{CPU: 1, Processed: 0x09e2d77a, Dropped: 0x12, TimeSqueeze: 0x42}}},
		{file: "3.10.txt", want: []SoftnetStat{
			{CPU: 0, Processed: 0x1c3a9e01, TimeSqueeze: 0xa11},
			{CPU: 1, Processed: 0x1b0f3d22, Dropped: 3, TimeSqueeze: 0x9f0}}},
		{file: "4.19.txt", want: []SoftnetStat{
			{CPU: 0, Processed: 0x7f1a0c33, TimeSqueeze: 0xc4},
			{CPU: 1, Processed: 0x7e55aa10, Dropped: 0x2a, TimeSqueeze: 0x1f3}}},
		{file: "5.10-cpu1-offline.txt", want: []SoftnetStat{
			{CPU: 0, CPUKnown: true, Processed: 0x2b4e9c01, TimeSqueeze: 0x31},
			{CPU: 2, CPUKnown: true, Processed: 0x2a77f0e4, TimeSqueeze: 0x29}}},
		{file: "6.18-host.txt", want: []SoftnetStat{
			{CPU: 0, CPUKnown: true, Processed: 0x004b17de, Dropped: 0x0005507e, TimeSqueeze: 2},
			{CPU: 1, CPUKnown: true, Processed: 0x0054a3a9, Dropped: 0x000567d4, TimeSqueeze: 5}}},
		{file: "empty.txt", err: "softnet_stat: no CPU lines"},
		{file: "short.txt", err: "softnet_stat line 1: 8 columns, expected 9 or more"},
		{file: "not-hex.txt", err: `softnet_stat line 1: column 1 "0000000g" is not a 32-bit hexadecimal number`},
		{file: "mixed-widths.txt", err: "softnet_stat line 2: 13 columns where line 1 has 11"},
		{file: "over-32-bit.txt", err: `column 1 "100000000" is not a 32-bit hexadecimal number`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "softnet", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := ParseSoftnetStat(f)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestSoftnetStatHost reads this machine's file: one line per online CPU.
func TestSoftnetStatHost(t *testing.T) {
	s, err := Host.SoftnetStat()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Fatal(err)
	}
	// "0-1" or "0,2-3": count the CPUs.
	n := 0
	for _, r := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, ok := strings.Cut(r, "-")
		if !ok {
			n++
			continue
		}
		var a, z int
		if _, err := fmt.Sscan(lo, &a); err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Sscan(hi, &z); err != nil {
			t.Fatal(err)
		}
		n += z - a + 1
	}
	if len(s) != n {
		t.Fatalf("%d softnet lines, %d online CPUs (%s)", len(s), n, b)
	}
}
