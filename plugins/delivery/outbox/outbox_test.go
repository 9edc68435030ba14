package outbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

func configured(t *testing.T) (*Outbox, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mail", "outbox.jsonl")
	o := New()
	o.now = func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }
	if err := o.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"path": path}}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	return o, path
}

// readLines decodes every line of the outbox file, failing on any line
// that is not a JSON object.
func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open outbox: %v", err)
	}
	defer f.Close()
	var lines []map[string]any
	s := bufio.NewScanner(f)
	for s.Scan() {
		var m map[string]any
		if err := json.Unmarshal(s.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not a JSON object: %v: %q", len(lines)+1, err, s.Text())
		}
		lines = append(lines, m)
	}
	if err := s.Err(); err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	return lines
}

func TestSendWritesOneLine(t *testing.T) {
	tests := []struct {
		name string
		req  sdk.SendRequest
		want map[string]any
	}{
		{
			name: "email with a magic link omits the code",
			req: sdk.SendRequest{
				ID: "att-1", Attempt: "att-1", Channel: "email", To: "ada@example.com",
				Subject: "Sign in", Text: "Click the link", Link: "https://id.example.com/l?a=1&b=2",
			},
			want: map[string]any{
				"id": "att-1", "time": "2030-01-02T03:04:05Z", "channel": "email", "to": "ada@example.com",
				"subject": "Sign in", "body": "Click the link", "link": "https://id.example.com/l?a=1&b=2",
				"attempt": "att-1",
			},
		},
		{
			name: "sms with a code omits the link",
			req: sdk.SendRequest{
				ID: "att-2", Attempt: "att-2", Channel: "sms", To: "+41790000000",
				Text: "Your code is 123456", Code: "123456", Metadata: map[string]string{"tenant": "acme"},
			},
			want: map[string]any{
				"id": "att-2", "time": "2030-01-02T03:04:05Z", "channel": "sms", "to": "+41790000000",
				"subject": "", "body": "Your code is 123456", "code": "123456", "attempt": "att-2",
				"metadata": map[string]any{"tenant": "acme"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, path := configured(t)
			resp, err := o.Send(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if resp.MessageID != tt.req.ID {
				t.Errorf("message id = %q, want %q", resp.MessageID, tt.req.ID)
			}
			lines := readLines(t, path)
			if len(lines) != 1 {
				t.Fatalf("got %d lines, want 1", len(lines))
			}
			got, _ := json.Marshal(lines[0])
			want, _ := json.Marshal(tt.want)
			if string(got) != string(want) {
				t.Errorf("line =\n %s\nwant\n %s", got, want)
			}
		})
	}
}

func TestLinkIsNotHTMLEscaped(t *testing.T) {
	o, path := configured(t)
	if _, err := o.Send(t.Context(), sdk.SendRequest{ID: "a", Channel: "email", To: "x@example.com", Link: "https://h/?a=1&b=2"}); err != nil {
		t.Fatalf("send: %v", err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"link":"https://h/?a=1&b=2"`; !strings.Contains(string(raw), want) {
		t.Errorf("file %q does not contain %s", raw, want)
	}
}

func TestRetriedSendIsNotWrittenTwice(t *testing.T) {
	o, path := configured(t)
	req := sdk.SendRequest{ID: "att-1", Channel: "email", To: "ada@example.com", Code: "1"}
	for range 3 {
		if _, err := o.Send(t.Context(), req); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	if n := len(readLines(t, path)); n != 1 {
		t.Fatalf("got %d lines after three sends of one id, want 1", n)
	}
}

func TestIDsSurviveARestart(t *testing.T) {
	o, path := configured(t)
	req := sdk.SendRequest{ID: "att-1", Channel: "email", To: "ada@example.com", Code: "1"}
	if _, err := o.Send(t.Context(), req); err != nil {
		t.Fatalf("send: %v", err)
	}

	// A new process configured with the same file must know att-1.
	restarted := New()
	if err := restarted.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"path": path}}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	if _, err := restarted.Send(t.Context(), req); err != nil {
		t.Fatalf("send: %v", err)
	}
	if _, err := restarted.Send(t.Context(), sdk.SendRequest{ID: "att-2", Channel: "sms", To: "+1", Code: "2"}); err != nil {
		t.Fatalf("send: %v", err)
	}
	if n := len(readLines(t, path)); n != 2 {
		t.Fatalf("got %d lines, want 2", n)
	}
}

func TestTornLastLineDoesNotCorruptTheNext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	if err := os.WriteFile(path, []byte(`{"id":"old"}`+"\n"+`{"id":"torn","ch`), 0o600); err != nil {
		t.Fatal(err)
	}
	o := New()
	if err := o.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"path": path}}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	if _, err := o.Send(t.Context(), sdk.SendRequest{ID: "new", Channel: "email", To: "a@example.com"}); err != nil {
		t.Fatalf("send: %v", err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var last map[string]any
	lines := splitLines(string(raw))
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last["id"] != "new" {
		t.Fatalf("last line %q is not the new message (err %v)", lines[len(lines)-1], err)
	}
	// The old, complete line still counts as sent.
	if _, err := o.Send(t.Context(), sdk.SendRequest{ID: "old", Channel: "email", To: "a@example.com"}); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := len(splitLines(mustRead(t, path))); got != len(lines) {
		t.Fatalf("resending an id from the file appended a line")
	}
}

// splitLines splits s into lines, keeping a last line without newline.
func splitLines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestConcurrentSendsWriteWholeLines(t *testing.T) {
	o, path := configured(t)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			// Every id is sent twice at once: a retry racing the original.
			req := sdk.SendRequest{ID: fmt.Sprintf("att-%d", i/2), Channel: "email", To: "a@example.com", Text: "body with \"quotes\" and\nnewlines"}
			if _, err := o.Send(context.Background(), req); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("send: %v", err)
	}
	lines := readLines(t, path)
	if len(lines) != n/2 {
		t.Fatalf("got %d lines, want %d (one per id)", len(lines), n/2)
	}
	ids := make(map[any]bool)
	for _, l := range lines {
		if ids[l["id"]] {
			t.Errorf("id %v written twice", l["id"])
		}
		ids[l["id"]] = true
	}
}

func TestPermanentErrors(t *testing.T) {
	tests := []struct {
		name      string
		config    map[string]string
		req       sdk.SendRequest
		configure bool // whether Configure is expected to succeed
	}{
		{name: "missing path is refused at configure", config: map[string]string{}},
		{name: "relative path is refused at configure", config: map[string]string{"path": "outbox.jsonl"}},
		{name: "unknown key is refused at configure", config: map[string]string{"path": "/tmp/outbox.jsonl", "pth": "x"}},
		{name: "missing recipient", configure: true, req: sdk.SendRequest{ID: "a", Channel: "email"}},
		{name: "missing id", configure: true, req: sdk.SendRequest{Channel: "email", To: "a@example.com"}},
		{name: "unknown channel", configure: true, req: sdk.SendRequest{ID: "a", Channel: "fax", To: "a@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := New()
			config := tt.config
			if tt.configure {
				config = map[string]string{"path": filepath.Join(t.TempDir(), "outbox.jsonl")}
			}
			err := o.Configure(t.Context(), sdk.ConfigureRequest{Config: config})
			if !tt.configure {
				if !errors.Is(err, sdk.ErrPermanent) {
					t.Fatalf("configure error = %v, want permanent", err)
				}
				_, err = o.Send(t.Context(), sdk.SendRequest{ID: "a", Channel: "email", To: "a@example.com"})
				if !errors.Is(err, sdk.ErrPermanent) {
					t.Fatalf("send on unconfigured outbox: error = %v, want permanent", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("configure: %v", err)
			}
			if _, err := o.Send(t.Context(), tt.req); !errors.Is(err, sdk.ErrPermanent) {
				t.Fatalf("send error = %v, want permanent", err)
			}
		})
	}
}

func TestCancelledSendWritesNothing(t *testing.T) {
	o, path := configured(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := o.Send(ctx, sdk.SendRequest{ID: "a", Channel: "email", To: "a@example.com"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("a cancelled send must be retryable")
	}
	if n := len(readLines(t, path)); n != 0 {
		t.Fatalf("got %d lines, want 0", n)
	}
}

func TestInfo(t *testing.T) {
	info, err := New().Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "outbox" || len(info.Channels) != 2 || info.Channels[0] != "email" || info.Channels[1] != "sms" {
		t.Fatalf("info = %+v", info)
	}
}
