package plugin

import (
	"bytes"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// userHZ is the unit of the kernel's starttime in /proc/PID/stat: clock
// ticks of USER_HZ, which the kernel's ABI fixes at 100 on every
// architecture Go runs Linux on (sysconf(_SC_CLK_TCK); proc(5)).
const userHZ = 100

// sinceStart is how long this process has existed: from the moment the
// kernel created it, as /proc/self/stat's field 22 (starttime, clock ticks
// since boot, proc(5)) gives it, to now on CLOCK_BOOTTIME, the clock that
// field is kept on (fs/proc/array.c: start_boottime, moved by a time
// namespace as the clock is). That is the moment Nagios, NRPE or a shell
// forked what became this check, so it counts what ran before main: a
// wrapper exec'd in the same process (ip netns exec, sh -c), the Go
// runtime's start, the option parsing. starttime is whole ticks, rounded
// down, so the answer is up to 10 ms long, never short. ok is false when
// it cannot be read (no /proc).
func sinceStart() (d time.Duration, ok bool) {
	fd, err := syscall.Open("/proc/self/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	var buf [1024]byte
	n, err := syscall.Read(fd, buf[:])
	syscall.Close(fd)
	if err != nil || n <= 0 {
		return 0, false
	}
	ticks, ok := statStartTime(buf[:n])
	if !ok {
		return 0, false
	}
	var now unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &now) != nil {
		return 0, false
	}
	d = time.Duration(now.Nano()) - time.Duration(ticks)*(time.Second/userHZ)
	return max(d, 0), true
}

// statStartTime reads field 22 (starttime) of a /proc/PID/stat line. The
// fields are counted after the last ')': the command name, field 2, is in
// parentheses and may hold spaces and parentheses itself.
func statStartTime(stat []byte) (uint64, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(stat[i+1:]) // fields 3 onwards
	const field = 22 - 3
	if len(f) <= field {
		return 0, false
	}
	v, err := strconv.ParseUint(string(f[field]), 10, 64)
	return v, err == nil
}
