package pretty

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bound is a --begin or --end time in one of babeltrace2's trimmer
// formats:
//
//	YYYY-MM-DD HH:II[:SS[.NANO]]   a date and time of day
//	HH:II[:SS[.NANO]]              a time of day, on the date of the first event
//	[-]SEC[.NANO]                  seconds from the clock's origin
type Bound struct {
	Set     bool
	seconds bool  // [-]SEC[.NANO]
	dated   bool  // has a date
	ns      int64 // seconds form: ns from origin
	y, mo   int
	d       int
	h, mi   int
	s, nano int
}

// ParseBound parses a trimmer time.
func ParseBound(s string) (Bound, error) {
	b := Bound{Set: true}
	in := strings.TrimSpace(s)
	bad := func() (Bound, error) {
		return Bound{}, fmt.Errorf("invalid time %q (want YYYY-MM-DD HH:II[:SS[.NANO]], HH:II[:SS[.NANO]] or [-]SEC[.NANO])", s)
	}
	if !strings.Contains(in, ":") {
		neg := strings.HasPrefix(in, "-")
		in = strings.TrimPrefix(in, "-")
		secs, frac, _ := strings.Cut(in, ".")
		sec, err := strconv.ParseInt(secs, 10, 64)
		if err != nil || secs == "" {
			return bad()
		}
		n, ok := nanos(frac)
		if !ok {
			return bad()
		}
		b.seconds = true
		b.ns = sec*1e9 + int64(n)
		if neg {
			b.ns = -b.ns
		}
		return b, nil
	}
	if date, clock, ok := strings.Cut(in, " "); ok {
		parts := strings.Split(date, "-")
		if len(parts) != 3 {
			return bad()
		}
		var err1, err2, err3 error
		b.y, err1 = strconv.Atoi(parts[0])
		b.mo, err2 = strconv.Atoi(parts[1])
		b.d, err3 = strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil || err3 != nil || len(parts[0]) != 4 {
			return bad()
		}
		b.dated = true
		in = strings.TrimSpace(clock)
	}
	hms, frac, _ := strings.Cut(in, ".")
	f := strings.Split(hms, ":")
	if len(f) < 2 || len(f) > 3 || (frac != "" && len(f) != 3) {
		return bad()
	}
	var err error
	if b.h, err = strconv.Atoi(f[0]); err != nil || b.h > 23 {
		return bad()
	}
	if b.mi, err = strconv.Atoi(f[1]); err != nil || b.mi > 59 {
		return bad()
	}
	if len(f) == 3 {
		if b.s, err = strconv.Atoi(f[2]); err != nil || b.s > 60 {
			return bad()
		}
	}
	n, ok := nanos(frac)
	if !ok {
		return bad()
	}
	b.nano = n
	return b, nil
}

// nanos reads up to nine digits after a decimal point.
func nanos(frac string) (int, bool) {
	if len(frac) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < 9; i++ {
		n *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n += int(c - '0')
		}
	}
	return n, true
}

// NS resolves the bound to nanoseconds from the origin; a time of day
// takes the date of firstNS in loc.
func (b Bound) NS(firstNS int64, loc *time.Location) int64 {
	if b.seconds {
		return b.ns
	}
	y, mo, d := b.y, time.Month(b.mo), b.d
	if !b.dated {
		y, mo, d = time.Unix(0, firstNS).In(loc).Date()
	}
	return time.Date(y, mo, d, b.h, b.mi, b.s, b.nano, loc).UnixNano()
}
