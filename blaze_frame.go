package mixin

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"sync"
)

// Blaze actions.
const (
	actionListPending = "LIST_PENDING_MESSAGES"
	actionCreate      = "CREATE_MESSAGE"
	actionAckReceipt  = "ACKNOWLEDGE_MESSAGE_RECEIPT"
	actionError       = "ERROR"
	sourceReceipt     = "ACKNOWLEDGE_MESSAGE_RECEIPT"
)

// inFrame is a frame from the server.
type inFrame struct {
	ID     string     `json:"id"`
	Action string     `json:"action"`
	Data   *Message   `json:"data"`
	Error  *errorBody `json:"error"`
}

// outFrame is a frame to the server.
type outFrame struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Params any    `json:"params,omitempty"`
}

// FrameError reports a blaze frame that could not be read: not binary, not
// gzip, too large once decompressed, or not JSON. The connection is closed
// and the loop reconnects; the server pushes unacknowledged messages again.
type FrameError struct {
	Reason string
}

// Error returns "mixin: blaze frame: REASON".
func (e *FrameError) Error() string { return "mixin: blaze frame: " + e.Reason }

// frameDecoder turns binary gzip frames into inFrames, reusing its
// decompressor and buffers across frames of one connection.
type frameDecoder struct {
	maxDecompressed int64
	raw             bytes.Buffer // compressed bytes of the current frame
	rd              bytes.Reader
	zr              *gzip.Reader
	lim             io.LimitedReader
	out             bytes.Buffer // decompressed JSON
}

// decode reads one frame from r into f. f must be zero; Data is always a
// fresh *Message.
func (d *frameDecoder) decode(r io.Reader, f *inFrame) error {
	d.raw.Reset()
	if _, err := d.raw.ReadFrom(r); err != nil {
		return err
	}
	return d.decodeBytes(d.raw.Bytes(), f)
}

func (d *frameDecoder) decodeBytes(frame []byte, f *inFrame) error {
	d.rd.Reset(frame)
	var err error
	if d.zr == nil {
		d.zr, err = gzip.NewReader(&d.rd)
	} else {
		err = d.zr.Reset(&d.rd)
	}
	if err != nil {
		d.zr = nil
		return &FrameError{Reason: "not gzip"}
	}
	d.zr.Multistream(false)
	d.out.Reset()
	d.lim = io.LimitedReader{R: d.zr, N: d.maxDecompressed + 1}
	n, err := d.out.ReadFrom(&d.lim)
	if err != nil {
		return &FrameError{Reason: "corrupt gzip stream"}
	}
	if n > d.maxDecompressed {
		return &FrameError{Reason: "decompresses to more than " + strconv.FormatInt(d.maxDecompressed, 10) + " bytes"}
	}
	if err := json.Unmarshal(d.out.Bytes(), f); err != nil {
		return &FrameError{Reason: "not a JSON frame (" + describeJSONError(err, d.out.Len()) + ")"}
	}
	// Don't let one huge frame pin memory for the life of the connection.
	if d.out.Cap() > 1<<20 {
		d.out = bytes.Buffer{}
	}
	if d.raw.Cap() > 1<<20 {
		d.raw = bytes.Buffer{}
	}
	return nil
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// encodeFrame gzips the JSON of f.
func encodeFrame(f outFrame) ([]byte, error) {
	js, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(js); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var errNotBinary = errors.New("mixin: blaze frame: not a binary message")
