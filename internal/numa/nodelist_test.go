package numa

import (
	"reflect"
	"testing"
)

func TestParseNodeList(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"0", []int{0}, false},
		{"0-1\n", []int{0, 1}, false},
		{"0-3,5", []int{0, 1, 2, 3, 5}, false},
		{"5,0-1,1", []int{0, 1, 5}, false},
		{"", nil, false},
		{"\n", nil, false},
		{"1-0", nil, true},
		{"a", nil, true},
		{"0-", nil, true},
		{",", nil, true},
		{"-1", nil, true},
		{"1024", nil, true},
		{"0-99999999", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseNodeList(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseNodeList(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseNodeList(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFormatNodeList(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{0}, "0"},
		{[]int{0, 1}, "0-1"},
		{[]int{0, 1, 2, 3, 5, 7, 8}, "0-3,5,7-8"},
	}
	for _, tt := range tests {
		if got := FormatNodeList(tt.in); got != tt.want {
			t.Errorf("FormatNodeList(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
