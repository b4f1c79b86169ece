package session

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Frame header: │ magic u32 │ version u16 │ kind u16 │ length u32 │, big-endian,
// then length bytes of JSON (docs/format/sessiond-protocol.md).
const (
	Magic      = 0x54545344 // "TTSD"
	Version    = 1
	headerSize = 12
	// MaxBody bounds a frame body; a request is a few hundred bytes, a
	// list of many sessions a few KiB.
	MaxBody = 1 << 20
)

// Frame kinds.
const (
	kindRequest  = 1
	kindResponse = 2
)

// FormatError is a frame that does not decode, with the byte offset of the
// fault from the start of the frame.
type FormatError struct {
	Off int64
	Msg string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("sessiond protocol: %s at byte 0x%x", e.Msg, e.Off)
}

// Commands.
const (
	CmdCreate        = "create"
	CmdDestroy       = "destroy"
	CmdStart         = "start"
	CmdStop          = "stop"
	CmdEnableEvent   = "enable-event"
	CmdDisableEvent  = "disable-event"
	CmdEnableChannel = "enable-channel"
	CmdAddContext    = "add-context"
	CmdList          = "list"
	CmdStatus        = "status"
	CmdPing          = "ping"
)

// Request is one command to the daemon.
type Request struct {
	Cmd     string `json:"cmd"`
	Session string `json:"session,omitempty"` // "" = the current session

	Create  *CreateArgs  `json:"create,omitempty"`
	Event   *EventArgs   `json:"event,omitempty"`
	Channel *ChannelArgs `json:"channel,omitempty"`
	Context *ContextArgs `json:"context,omitempty"`
}

// CreateArgs are `create`'s options.
type CreateArgs struct {
	OutputDir  string `json:"output_dir"`              // the trace folder (streams go to OUTPUT/kernel)
	Live       bool   `json:"live,omitempty"`          // --live
	LiveTimerU uint64 `json:"live_timer_us,omitempty"` // --live=USEC
	URL        string `json:"url,omitempty"`           // -U net://HOST[:C[:D]]
	AutoName   bool   `json:"auto_name,omitempty"`     // the name is auto-YYYYmmdd-HHMMSS, made by the client
}

// EventArgs are enable-event's and disable-event's options.
type EventArgs struct {
	Channel    string   `json:"channel,omitempty"`
	All        bool     `json:"all,omitempty"`        // -a
	Syscall    bool     `json:"syscall,omitempty"`    // --syscall
	Tracepoint bool     `json:"tracepoint,omitempty"` // --tracepoint
	Names      []string `json:"names,omitempty"`      // names or globs
}

// ChannelArgs are enable-channel's options.
type ChannelArgs struct {
	Name          string `json:"name"`
	SubbufSize    int    `json:"subbuf_size,omitempty"`
	NumSubbuf     int    `json:"num_subbuf,omitempty"`
	Overwrite     bool   `json:"overwrite,omitempty"`
	SwitchTimerUS uint64 `json:"switch_timer_us,omitempty"`
	ReadTimerUS   uint64 `json:"read_timer_us,omitempty"`
}

// ContextArgs are add-context's options.
type ContextArgs struct {
	Channel string   `json:"channel,omitempty"` // "" = every channel
	Types   []string `json:"types"`
}

// Response is the daemon's answer: Text is what the command prints, Err
// what it prints on failure (the command then exits 1).
type Response struct {
	Err      string        `json:"err,omitempty"`
	Text     string        `json:"text,omitempty"`
	Warn     string        `json:"warn,omitempty"` // printed on stderr, success all the same
	Sessions []SessionInfo `json:"sessions,omitempty"`
}

// SessionInfo describes one session in list and status answers.
type SessionInfo struct {
	Name      string        `json:"name"`
	OutputDir string        `json:"output_dir"`
	Active    bool          `json:"active"`
	Live      bool          `json:"live,omitempty"`
	URL       string        `json:"url,omitempty"`
	Current   bool          `json:"current,omitempty"`
	Channels  []ChannelInfo `json:"channels,omitempty"`
	Syscalls  string        `json:"syscalls,omitempty"` // how syscalls are recorded ("bpf", "tracefs: ...")
	// Relay is where a streaming session goes, as lttng shows it
	// ("tcp4://127.0.0.1:5342/ [data: 5343]"); RelayDir is the session's
	// folder in the relay's output (HOST/NAME-DATE-TIME), once started.
	Relay       string `json:"relay,omitempty"`
	RelayDir    string `json:"relay_dir,omitempty"`
	LiveTimerUS uint64 `json:"live_timer_us,omitempty"`
}

// ChannelInfo describes one channel.
type ChannelInfo struct {
	Name        string   `json:"name"`
	SubbufSize  int      `json:"subbuf_size"`
	NumSubbuf   int      `json:"num_subbuf"`
	Overwrite   bool     `json:"overwrite"`
	SwitchTimer uint64   `json:"switch_timer_us"`
	Events      []string `json:"events,omitempty"`
	Syscalls    []string `json:"syscalls,omitempty"`
	Contexts    []string `json:"contexts,omitempty"`
}

// appendFrame appends a frame of kind around body.
func appendFrame(dst []byte, kind uint16, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, Magic)
	dst = binary.BigEndian.AppendUint16(dst, Version)
	dst = binary.BigEndian.AppendUint16(dst, kind)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

// readFrame reads one frame of the wanted kind and returns its body.
func readFrame(r io.Reader, want uint16) ([]byte, error) {
	var h [headerSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	_, n, err := parseHeader(h[:], want)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("sessiond protocol: body of %d bytes: %w", n, err)
	}
	return b, nil
}

// parseHeader checks a frame header; it returns the rest of b and the
// body length.
func parseHeader(b []byte, want uint16) ([]byte, int, error) {
	if len(b) < headerSize {
		return nil, 0, &FormatError{Off: int64(len(b)), Msg: "short frame header (" + strconv.Itoa(len(b)) + " bytes, want 12)"}
	}
	if m := binary.BigEndian.Uint32(b); m != Magic {
		return nil, 0, &FormatError{Off: 0, Msg: fmt.Sprintf("bad magic 0x%x (want 0x%x)", m, Magic)}
	}
	if v := binary.BigEndian.Uint16(b[4:]); v != Version {
		return nil, 0, &FormatError{Off: 4, Msg: fmt.Sprintf("protocol version %d (want %d: client and daemon are different tracetop versions; restart the daemon)", v, Version)}
	}
	if k := binary.BigEndian.Uint16(b[6:]); k != want {
		return nil, 0, &FormatError{Off: 6, Msg: fmt.Sprintf("frame kind %d (want %d)", k, want)}
	}
	n := binary.BigEndian.Uint32(b[8:])
	if n > MaxBody {
		return nil, 0, &FormatError{Off: 8, Msg: fmt.Sprintf("body of %d bytes (limit %d)", n, MaxBody)}
	}
	return b[headerSize:], int(n), nil
}

// DecodeRequest decodes one whole request frame. Unknown fields, trailing
// bytes and unknown commands are errors naming where they are.
func DecodeRequest(b []byte) (*Request, error) {
	rest, n, err := parseHeader(b, kindRequest)
	if err != nil {
		return nil, err
	}
	if len(rest) != n {
		return nil, &FormatError{Off: 8, Msg: fmt.Sprintf("body length %d but %d bytes follow", n, len(rest))}
	}
	return decodeRequestBody(rest)
}

func decodeRequestBody(body []byte) (*Request, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req Request
	if err := dec.Decode(&req); err != nil {
		return nil, &FormatError{Off: headerSize + dec.InputOffset(), Msg: "request: " + err.Error()}
	}
	if dec.More() {
		return nil, &FormatError{Off: headerSize + dec.InputOffset(), Msg: "trailing data after the request"}
	}
	switch req.Cmd {
	case CmdCreate, CmdDestroy, CmdStart, CmdStop, CmdEnableEvent, CmdDisableEvent,
		CmdEnableChannel, CmdAddContext, CmdList, CmdStatus, CmdPing:
	default:
		return nil, &FormatError{Off: headerSize, Msg: fmt.Sprintf("unknown command %q", req.Cmd)}
	}
	if len(req.Session) > 255 {
		return nil, &FormatError{Off: headerSize, Msg: "session name longer than 255 bytes"}
	}
	return &req, nil
}

// EncodeRequest returns req as a frame.
func EncodeRequest(req *Request) ([]byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return appendFrame(nil, kindRequest, body), nil
}

func encodeResponse(resp *Response) []byte {
	body, err := json.Marshal(resp)
	if err != nil {
		body, _ = json.Marshal(&Response{Err: "encode response: " + err.Error()})
	}
	return appendFrame(nil, kindResponse, body)
}

func decodeResponseBody(body []byte) (*Response, error) {
	var resp Response
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, &FormatError{Off: headerSize, Msg: "response: " + err.Error()}
	}
	return &resp, nil
}
