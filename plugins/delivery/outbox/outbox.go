package outbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// Name is the plugin's name, as reported by Info.
const Name = "outbox"

// version is reported by Info; bump it when the line format changes.
const version = "1.0.0"

// Outbox writes messages to a JSON lines file. It is safe for concurrent
// use.
type Outbox struct {
	// now is the clock; tests replace it to get stable lines.
	now func() time.Time

	// mu serializes Configure and writes so that lines never interleave
	// and the set of written IDs matches the file.
	mu   sync.Mutex
	path string
	// seen holds the IDs already in the file: a retried Send must not
	// append the same message twice.
	seen map[string]struct{}
}

var _ sdk.Delivery = (*Outbox)(nil)

// New returns an unconfigured Outbox; Configure must be called before Send.
func New() *Outbox {
	return &Outbox{now: time.Now}
}

// line is the JSON object written per message. Field names are part of the
// contract with whoever reads the file (developers, end-to-end tests).
type line struct {
	ID       string            `json:"id"`
	Time     time.Time         `json:"time"`
	Channel  string            `json:"channel"`
	To       string            `json:"to"`
	Subject  string            `json:"subject"`
	Body     string            `json:"body"`
	HTML     string            `json:"html,omitempty"`
	Link     string            `json:"link,omitempty"`
	Code     string            `json:"code,omitempty"`
	Attempt  string            `json:"attempt"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Info describes the outbox plugin.
func (o *Outbox) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: Name, Version: version, Channels: []string{"email", "sms"}}, nil
}

// Configure takes {"path": "/absolute/path/outbox.jsonl"} (any other key is
// refused), creating the file and its directory if needed, and loads the
// IDs already written so that retries stay idempotent across plugin
// restarts.
func (o *Outbox) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	var in struct {
		Path string `config:"path"`
	}
	if err := req.Decode(&in); err != nil {
		return err
	}
	path := in.Path
	if path == "" {
		return sdk.Permanent(errors.New(`missing "path"`))
	}
	if !filepath.IsAbs(path) {
		// The plugin's working directory is the host's; a relative path
		// would land somewhere nobody looks.
		return sdk.Permanent(fmt.Errorf("path %q is not absolute", path))
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return sdk.Permanent(fmt.Errorf("create directory: %w", err))
	}
	seen, err := load(path)
	if err != nil {
		return sdk.Permanent(err)
	}
	o.path, o.seen = path, seen
	return nil
}

// load reads the IDs already in the file and makes sure the file ends with a
// newline, so a line torn by a crash does not swallow the next one.
func load(path string) (map[string]struct{}, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()

	seen := make(map[string]struct{})
	r := bufio.NewReader(f)
	var last []byte
	for {
		b, err := r.ReadBytes('\n')
		if len(b) > 0 {
			last = b
			var l struct {
				ID string `json:"id"`
			}
			// A line that does not parse was torn by a crash; it was
			// never acknowledged, so its message will be sent again.
			if json.Unmarshal(b, &l) == nil && l.ID != "" {
				seen[l.ID] = struct{}{}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	if len(last) > 0 && !bytes.HasSuffix(last, []byte("\n")) {
		if _, err := f.Write([]byte("\n")); err != nil {
			return nil, fmt.Errorf("repair %s: %w", path, err)
		}
	}
	return seen, nil
}

// Send appends req as one line and fsyncs it. Sending an ID that is already
// in the file succeeds without writing again.
func (o *Outbox) Send(ctx context.Context, req sdk.SendRequest) (sdk.SendResponse, error) {
	if req.ID == "" {
		return sdk.SendResponse{}, sdk.Permanent(errors.New("missing id"))
	}
	if req.To == "" {
		return sdk.SendResponse{}, sdk.Permanent(errors.New("missing recipient"))
	}
	if req.Channel != "email" && req.Channel != "sms" {
		return sdk.SendResponse{}, sdk.Permanent(fmt.Errorf("unsupported channel %q", req.Channel))
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Links carry '&'; keep them readable for people reading the file.
	enc.SetEscapeHTML(false)
	err := enc.Encode(line{
		ID:       req.ID,
		Time:     o.now().UTC(),
		Channel:  req.Channel,
		To:       req.To,
		Subject:  req.Subject,
		Body:     req.Text,
		HTML:     req.HTML,
		Link:     req.Link,
		Code:     req.Code,
		Attempt:  req.Attempt,
		Metadata: req.Metadata,
	})
	if err != nil {
		return sdk.SendResponse{}, fmt.Errorf("encode line: %w", err)
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	if o.path == "" {
		return sdk.SendResponse{}, sdk.Permanent(errors.New(`not configured: missing "path"`))
	}
	if _, ok := o.seen[req.ID]; ok {
		return sdk.SendResponse{MessageID: req.ID}, nil
	}
	// The caller may have given up while we waited for the lock; do not
	// write a message it will report as failed.
	if err := ctx.Err(); err != nil {
		return sdk.SendResponse{}, err
	}
	if err := appendSync(o.path, buf.Bytes()); err != nil {
		return sdk.SendResponse{}, err
	}
	o.seen[req.ID] = struct{}{}
	return sdk.SendResponse{MessageID: req.ID}, nil
}

// appendSync appends b in a single write and waits for it to reach the disk,
// so an acknowledged message survives a crash.
func appendSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		return errors.Join(fmt.Errorf("write %s: %w", path, err), f.Close())
	}
	if err := f.Sync(); err != nil {
		return errors.Join(fmt.Errorf("sync %s: %w", path, err), f.Close())
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
