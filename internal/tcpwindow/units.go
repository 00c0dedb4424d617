package tcpwindow

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Ceiling is the most a window of window bytes lets through per round
// trip, in bits per second. A zero RTT gives 0 (nothing to divide by).
func Ceiling(window float64, rtt time.Duration) float64 {
	if rtt <= 0 {
		return 0
	}
	return math.Round(window * 8 / rtt.Seconds())
}

// FormatBits writes a rate in bits per second the way people read it.
func FormatBits(bps float64) string {
	units := []string{"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"}
	i := 0
	for bps >= 1000 && i < len(units)-1 {
		bps /= 1000
		i++
	}
	return strconv.FormatFloat(bps, 'f', precision(bps), 64) + " " + units[i]
}

func precision(v float64) int {
	switch {
	case v >= 100 || v == math.Trunc(v):
		return 0
	case v >= 10:
		return 1
	}
	return 2
}

// Bitrate is a rate in bits per second given as a number with an
// optional SI suffix: 800k, 10M, 1.5G (also 10Mbit, 10Mbit/s, 10Mbps).
type Bitrate float64

// ParseBitrate parses a Bitrate.
func ParseBitrate(s string) (Bitrate, error) {
	t := strings.TrimSpace(s)
	for _, suf := range []string{"bit/s", "bps", "bit", "b/s"} {
		if strings.HasSuffix(strings.ToLower(t), suf) {
			t = t[:len(t)-len(suf)]
			break
		}
	}
	mult := 1.0
	if t != "" {
		switch t[len(t)-1] {
		case 'k', 'K':
			mult = 1e3
		case 'm', 'M':
			mult = 1e6
		case 'g', 'G':
			mult = 1e9
		case 't', 'T':
			mult = 1e12
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	bad := fmt.Errorf("invalid rate %q: expected bits per second such as 800k, 10M, 1.5G", s)
	if t == "" || strings.ContainsAny(t, "xXpPnNiI_eE+-") {
		return 0, bad
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || math.IsInf(v*mult, 0) || v*mult > 1e15 {
		return 0, bad
	}
	return Bitrate(v * mult), nil
}

// UnmarshalFlag implements go-flags' Unmarshaler.
func (b *Bitrate) UnmarshalFlag(s string) error {
	v, err := ParseBitrate(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalFlag implements go-flags' Marshaler.
func (b Bitrate) MarshalFlag() (string, error) {
	if b == 0 {
		return "", nil
	}
	return strconv.FormatFloat(float64(b), 'f', -1, 64), nil
}

// FormatDuration writes a duration in ASCII (no "µs"), in milliseconds
// below a second.
func FormatDuration(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
	case ms >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', 3, 64) + " ms"
}
