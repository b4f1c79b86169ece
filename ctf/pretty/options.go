package pretty

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tracetop/tracetop/ctf"
)

// Options are babeltrace2's pretty-sink parameters. DefaultOptions gives
// what `babeltrace2 TRACE` uses.
type Options struct {
	ClockCycles  bool // --clock-cycles: raw clock values
	ClockSeconds bool // --clock-seconds: SEC.NS instead of HH:MM:SS.NS
	ClockDate    bool // --clock-date: YYYY-MM-DD before the time
	ClockGMT     bool // --clock-gmt: UTC instead of the local time zone
	NoDelta      bool // --no-delta

	// Field names (--names).
	NamesPayload bool
	NamesContext bool
	NamesHeader  bool
	NamesScope   bool

	// Extra fields (--fields).
	FieldTrace    bool
	FieldHostname bool
	FieldDomain   bool
	FieldProcname bool
	FieldVPID     bool
	FieldLoglevel bool
	FieldEMF      bool
	FieldCallsite bool

	// NoBT2Quirks prints what the trace holds where babeltrace2 2.0
	// prints something else: a NUL-terminated string field that decodes
	// empty is printed "" (babeltrace2 2.0 prints what a recycled event
	// object's field held, see Printer). Output then differs from
	// babeltrace2's on such events.
	NoBT2Quirks bool

	// Location is the time zone of printed times when ClockGMT is false;
	// nil means time.Local (which honours TZ, as babeltrace2 does).
	Location *time.Location

	// Err receives discarded-event and lost-packet warnings and metadata
	// warnings; nil means os.Stderr.
	Err io.Writer

	// TraceName gives a trace's name (babeltrace2: the hostname, then the
	// trace's path relative to the input folder); nil means the hostname.
	TraceName func(*ctf.Trace) string
	// StreamName gives a stream's name (babeltrace2: the path of its
	// first file); nil means Stream.Name.
	StreamName func(*ctf.Stream) string
}

// DefaultOptions returns babeltrace2's defaults: payload and context field
// names, the trace hostname, procname and vpid fields, deltas, local time.
func DefaultOptions() Options {
	return Options{
		NamesPayload:  true,
		NamesContext:  true,
		FieldHostname: true,
		FieldProcname: true,
		FieldVPID:     true,
	}
}

// SetNames applies a babeltrace2 --names list (comma-separated: payload
// (arg, args), context (ctx), header, scope, all, none): the listed names
// are shown, the others hidden.
func (o *Options) SetNames(list string) error {
	o.NamesPayload, o.NamesContext, o.NamesHeader, o.NamesScope = false, false, false, false
	for _, n := range strings.Split(list, ",") {
		switch strings.TrimSpace(n) {
		case "payload", "arg", "args":
			o.NamesPayload = true
		case "context", "ctx":
			o.NamesContext = true
		case "header":
			o.NamesHeader = true
		case "scope":
			o.NamesScope = true
		case "all":
			o.NamesPayload, o.NamesContext, o.NamesHeader, o.NamesScope = true, true, true, true
		case "none":
		default:
			return fmt.Errorf("unknown field name %q in --names (want payload, context, header, scope, all or none)", n)
		}
	}
	return nil
}

// SetFields applies a babeltrace2 --fields list (comma-separated: trace,
// trace:hostname, trace:domain, trace:procname, trace:vpid, loglevel, emf,
// callsite, all): the listed fields are shown, the others hidden.
func (o *Options) SetFields(list string) error {
	o.FieldTrace, o.FieldHostname, o.FieldDomain, o.FieldProcname = false, false, false, false
	o.FieldVPID, o.FieldLoglevel, o.FieldEMF, o.FieldCallsite = false, false, false, false
	for _, n := range strings.Split(list, ",") {
		switch strings.TrimSpace(n) {
		case "trace":
			o.FieldTrace = true
		case "trace:hostname":
			o.FieldHostname = true
		case "trace:domain":
			o.FieldDomain = true
		case "trace:procname":
			o.FieldProcname = true
		case "trace:vpid":
			o.FieldVPID = true
		case "loglevel":
			o.FieldLoglevel = true
		case "emf":
			o.FieldEMF = true
		case "callsite":
			o.FieldCallsite = true
		case "all":
			o.FieldTrace, o.FieldHostname, o.FieldDomain, o.FieldProcname = true, true, true, true
			o.FieldVPID, o.FieldLoglevel, o.FieldEMF, o.FieldCallsite = true, true, true, true
		default:
			return fmt.Errorf("unknown field %q in --fields (want trace, trace:hostname, trace:domain, trace:procname, trace:vpid, loglevel, emf, callsite or all)", n)
		}
	}
	return nil
}

func (o *Options) location() *time.Location {
	if o.ClockGMT {
		return time.UTC
	}
	if o.Location != nil {
		return o.Location
	}
	return time.Local
}

func (o *Options) errWriter() io.Writer {
	if o.Err != nil {
		return o.Err
	}
	return os.Stderr
}
