package numa

import (
	"context"
	"errors"
	"github.com/opschecks/opschecks/internal/plugin"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		policy Policy
		pages  []NodePages
		pageKB int64
	}{
		{"default", "5611b2c00000 default file=/usr/sbin/mysqld mapped=2048 mapmax=3 N0=2048 kernelpagesize_kB=4",
			Policy{Mode: ModeDefault}, []NodePages{{0, 2048}}, 4},
		{"local", "400000 local file=/opt/app/bin/app mapped=100 N1=100 kernelpagesize_kB=4",
			Policy{Mode: ModeLocal}, []NodePages{{1, 100}}, 4},
		{"prefer", "55d0aa000000 prefer:0 anon=2 dirty=2 N0=2 kernelpagesize_kB=4",
			Policy{Mode: ModePrefer, Nodes: []int{0}}, []NodePages{{0, 2}}, 4},
		{"prefer relative", "7f0000005000 prefer=relative:1 anon=10 N1=10 kernelpagesize_kB=4",
			Policy{Mode: ModePrefer, Flags: "relative", Nodes: []int{1}}, []NodePages{{1, 10}}, 4},
		{"bind range", "7f0000003000 bind:0-1 anon=10 N0=10 kernelpagesize_kB=4",
			Policy{Mode: ModeBind, Nodes: []int{0, 1}}, []NodePages{{0, 10}}, 4},
		{"bind static|balancing", "7f0000004000 bind=static|balancing:0 anon=10 N0=10 kernelpagesize_kB=4",
			Policy{Mode: ModeBind, Flags: "static|balancing", Nodes: []int{0}}, []NodePages{{0, 10}}, 4},
		{"bind balancing", "7f0000004000 bind=balancing:0-3 N3=1",
			Policy{Mode: ModeBind, Flags: "balancing", Nodes: []int{0, 1, 2, 3}}, []NodePages{{3, 1}}, 0},
		{"interleave", "7f3b40000000 interleave:0-1 anon=262144 dirty=262144 active=200000 N0=131072 N1=131072 kernelpagesize_kB=4",
			Policy{Mode: ModeInterleave, Nodes: []int{0, 1}}, []NodePages{{0, 131072}, {1, 131072}}, 4},
		{"interleave static list", "7f3b40000000 interleave=static:0,2-3 anon=3 N0=1 N2=1 N3=1 kernelpagesize_kB=4",
			Policy{Mode: ModeInterleave, Flags: "static", Nodes: []int{0, 2, 3}}, []NodePages{{0, 1}, {2, 1}, {3, 1}}, 4},
		{"weighted interleave", "5601aa000000 weighted interleave:0-3 file=/usr/bin/app mapped=400 N0=100 N1=100 N2=100 N3=100 kernelpagesize_kB=4",
			Policy{Mode: ModeWeightedInterleave, Nodes: []int{0, 1, 2, 3}}, []NodePages{{0, 100}, {1, 100}, {2, 100}, {3, 100}}, 4},
		{"weighted interleave static", "5601aa000000 weighted interleave=static:0,2 N0=200 N2=200 kernelpagesize_kB=4",
			Policy{Mode: ModeWeightedInterleave, Flags: "static", Nodes: []int{0, 2}}, []NodePages{{0, 200}, {2, 200}}, 4},
		{"prefer many", "5601bb000000 prefer (many):0-1 file=/usr/bin/app mapped=40 N0=40 kernelpagesize_kB=4",
			Policy{Mode: ModePreferMany, Nodes: []int{0, 1}}, []NodePages{{0, 40}}, 4},
		{"prefer many static", "7f5511000000 prefer (many)=static:0-1 anon=4000 N0=3000 N1=1000 kernelpagesize_kB=4",
			Policy{Mode: ModePreferMany, Flags: "static", Nodes: []int{0, 1}}, []NodePages{{0, 3000}, {1, 1000}}, 4},
		{"huge pages", "7f3c00000000 interleave:0-1 file=/dev/hugepages/wt huge dirty=8 N0=4 N1=4 kernelpagesize_kB=2048",
			Policy{Mode: ModeInterleave, Nodes: []int{0, 1}}, []NodePages{{0, 4}, {1, 4}}, 2048},
		{"escaped file name", `7f90c0000000 default file=/var/lib/mysql/ib\040logfile0 mapped=4 N0=4 kernelpagesize_kB=4`,
			Policy{Mode: ModeDefault}, []NodePages{{0, 4}}, 4},
		{"no pages", "7f3bc0000000 default", Policy{Mode: ModeDefault}, nil, 0},
		{"no pages file", "7f3bc0000000 bind:1 file=/x", Policy{Mode: ModeBind, Nodes: []int{1}}, nil, 0},
		{"old stack label", "7ffd5e1c9000 default stack:1234 anon=3 N0=3 kernelpagesize_kB=4",
			Policy{Mode: ModeDefault}, []NodePages{{0, 3}}, 4},
		{"future key", "7ffd5e1c9000 default anon=3 newthing=x N0=3 kernelpagesize_kB=4",
			Policy{Mode: ModeDefault}, []NodePages{{0, 3}}, 4},
		{"unknown mode", "7ffd5e1c9000 unknown anon=3 N0=3", Policy{Mode: ModeUnknown}, []NodePages{{0, 3}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseLine(tt.line)
			if err != nil {
				t.Fatalf("ParseLine(%q): %v", tt.line, err)
			}
			if !reflect.DeepEqual(m.Policy, tt.policy) {
				t.Errorf("policy = %#v, want %#v", m.Policy, tt.policy)
			}
			if !reflect.DeepEqual(m.Pages, tt.pages) {
				t.Errorf("pages = %v, want %v", m.Pages, tt.pages)
			}
			if m.PageSizeKB != tt.pageKB {
				t.Errorf("page size = %d, want %d", m.PageSizeKB, tt.pageKB)
			}
			// The policy prints back in the kernel's form.
			rest := tt.line[strings.IndexByte(tt.line, ' ')+1:]
			if p := m.Policy.String(); rest != p && !strings.HasPrefix(rest, p+" ") {
				t.Errorf("policy prints as %q, the line has %q", p, rest)
			}
		})
	}
}

func TestParseLineMalformed(t *testing.T) {
	tests := []struct{ line, why string }{
		{"", "no policy"},
		{"7f3b40000000", "no policy"},
		{"zz3b40000000 default", "not hexadecimal"},
		{"7f3b40000000 spread:0-1", `unknown memory policy "spread:0-1"`},
		{"7f3b40000000 interleaved:0-1", "unknown memory policy"},
		{"7f3b40000000 interleave:", "empty node list"},
		{"7f3b40000000 interleave:1-0", "backwards"},
		{"7f3b40000000 interleave:x", "not a node number"},
		{"7f3b40000000 interleave=bogus:0-1", `unknown policy flag "bogus"`},
		{"7f3b40000000 interleave=:0-1", "unknown policy flag"},
		{"7f3b40000000 default:0", "takes no nodes"},
		{"7f3b40000000 local=static", "takes no nodes"},
		{"7f3b40000000 interleave:0-1x anon=1", "not a node number"},
		{"7f3b40000000 default anon=lots", `anon: "lots" is not a count`},
		{"7f3b40000000 default N0=-1", "not a page count"},
		{"7f3b40000000 default N0=1 N0=2", "listed twice"},
		{"7f3b40000000 default N99999=1", "not a node number"},
		{"7f3b40000000 default kernelpagesize_kB=0", "kernelpagesize_kB is 0"},
		{"7f3b40000000 default =3", "has no key"},
	}
	for _, tt := range tests {
		_, err := ParseLine(tt.line)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseLine(%q) = %v, want a SyntaxError", tt.line, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.why) || !strings.Contains(err.Error(), "malformed numa_maps line \""+plugin.Clip(tt.line, 160)+"\"") {
			t.Errorf("ParseLine(%q) error %q does not quote the line or lacks %q", tt.line, err, tt.why)
		}
	}
}

// countingReader serves a numa_maps image and counts what was read.
type countingReader struct {
	r    io.Reader
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func TestReadFirstStopsEarly(t *testing.T) {
	first := "55a4c8e00000 interleave:0-1 file=/usr/bin/mongod mapped=1024 N0=512 N1=512 kernelpagesize_kB=4\n"
	rest := strings.Repeat("7f3b40000000 default anon=1 dirty=1 N0=1 kernelpagesize_kB=4\n", 100000)
	cr := &countingReader{r: strings.NewReader(first + rest)}
	m, err := ReadFirst(cr)
	if err != nil {
		t.Fatal(err)
	}
	if m.Policy.String() != "interleave:0-1" {
		t.Errorf("policy = %s, want interleave:0-1", m.Policy)
	}
	// Every byte read makes the kernel walk more page tables: the first
	// read must be small, not the whole 6 MB.
	if cr.read > 512 {
		t.Errorf("ReadFirst read %d bytes, want at most 512", cr.read)
	}
}

func TestReadFirstLongLine(t *testing.T) {
	long := "7f3b40000000 bind:1 file=/" + strings.Repeat("d", 3000) + " mapped=1 N1=1 kernelpagesize_kB=4\nnext\n"
	m, err := ReadFirst(strings.NewReader(long))
	if err != nil {
		t.Fatal(err)
	}
	if m.Policy.String() != "bind:1" {
		t.Errorf("policy = %s", m.Policy)
	}
	if _, err := ReadFirst(strings.NewReader("")); !errors.Is(err, ErrNoMappings) {
		t.Errorf("empty numa_maps: %v, want ErrNoMappings", err)
	}
}

func TestReadDistributionFixtures(t *testing.T) {
	const kb = 1024
	tests := []struct {
		file        string
		policy      string
		mappings    int
		bytes       map[int]int64
		interleaved float64
		nodes       []int
		imbalance   float64
	}{
		{"interleave.txt", "interleave:0-1", 6,
			map[int]int64{0: (512+48+15001+131072+17)*4*kb + 4*2048*kb, 1: (512+48+14999+131072+16)*4*kb + 4*2048*kb},
			1, []int{0, 1}, 0.001},
		{"default.txt", "default", 5,
			map[int]int64{0: (2048 + 60000 + 500000 + 4 + 12) * 4 * kb, 1: (5536 + 24288) * 4 * kb},
			0, []int{0, 1}, 89.92},
		{"bind.txt", "bind:1", 3, map[int]int64{1: (800 + 100000 + 10) * 4 * kb}, 0, []int{1}, 0},
		{"weighted.txt", "weighted interleave:0-3", 2,
			map[int]int64{0: 16100 * 4 * kb, 1: 12100 * 4 * kb, 2: 8100 * 4 * kb, 3: 4100 * 4 * kb},
			1, []int{0, 1, 2, 3}, 19.80},
		{"prefer_many.txt", "prefer (many):0-1", 2, map[int]int64{0: 3040 * 4 * kb, 1: 1000 * 4 * kb}, 0, []int{0, 1}, 50.50},
		{"mixed.txt", "default", 4, map[int]int64{0: 600 * 4 * kb, 1: 700 * 4 * kb}, 1000.0 / 1300, []int{0, 1}, 7.69},
		{"local.txt", "local", 2, map[int]int64{1: 5100 * 4 * kb}, 0, []int{0, 1}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "numa_maps", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			d, err := ReadDistribution(context.Background(), f, 4)
			if err != nil {
				t.Fatal(err)
			}
			if d.First.Policy.String() != tt.policy || d.Mappings != tt.mappings {
				t.Errorf("policy %s, %d mappings; want %s, %d", d.First.Policy, d.Mappings, tt.policy, tt.mappings)
			}
			if !reflect.DeepEqual(d.Bytes, tt.bytes) {
				t.Errorf("bytes = %v, want %v", d.Bytes, tt.bytes)
			}
			if math.Abs(d.InterleavedPart-tt.interleaved) > 1e-9 {
				t.Errorf("interleaved part = %v, want %v", d.InterleavedPart, tt.interleaved)
			}
			if got := Imbalance(d.Bytes, tt.nodes); math.Abs(got-tt.imbalance) > 0.01 {
				t.Errorf("imbalance = %.3f, want %.2f", got, tt.imbalance)
			}
		})
	}
}

func TestReadDistributionErrors(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "numa_maps", "malformed.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = ReadDistribution(context.Background(), f, 4)
	if err == nil || !strings.Contains(err.Error(), `line 2: malformed numa_maps line "7f3b40000000 interleave:0-1 anon=lots`) {
		t.Errorf("malformed line 2: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadDistribution(ctx, strings.NewReader("1 default\n"), 4); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
	if _, err := ReadDistribution(context.Background(), strings.NewReader(""), 4); !errors.Is(err, ErrNoMappings) {
		t.Errorf("empty: %v, want ErrNoMappings", err)
	}
}

func TestImbalance(t *testing.T) {
	tests := []struct {
		bytes map[int]int64
		nodes []int
		want  float64
	}{
		{map[int]int64{0: 50, 1: 50}, []int{0, 1}, 0},
		{map[int]int64{0: 100}, []int{0, 1}, 100},
		{map[int]int64{0: 75, 1: 25}, []int{0, 1}, 50},
		{map[int]int64{0: 100}, []int{0, 1, 2, 3}, 100},
		{map[int]int64{0: 25, 1: 25, 2: 25, 3: 25}, []int{0, 1, 2, 3}, 0},
		{map[int]int64{0: 100}, []int{0}, 0},
		{map[int]int64{}, []int{0, 1}, 0},
	}
	for _, tt := range tests {
		if got := Imbalance(tt.bytes, tt.nodes); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Imbalance(%v, %v) = %v, want %v", tt.bytes, tt.nodes, got, tt.want)
		}
	}
}
