// Command tracetop records, relays, reads and shows Linux kernel traces.
//
// Each subcommand lives in its own file of this package and registers itself
// on the root command from an init function. Commands only parse flags into
// an options struct and call a package; no logic lives here.
//
//	tracetop                          # live top of this machine (root)
//	tracetop view TRACE_DIR           # babeltrace2's text output
//	tracetop top --batch TRACE_DIR    # figures per interval
//	tracetop relayd                   # receive traces, serve live viewers
package main
