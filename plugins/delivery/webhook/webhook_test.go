package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/syncbuf"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// syncBuffer collects output written from other goroutines.
type syncBuffer = syncbuf.Buffer

// newTestWebhook returns an unconfigured Webhook whose logs go to the
// returned buffer instead of the plugin's stderr.
func newTestWebhook(t testing.TB) (*Webhook, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	w := New()
	w.log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return w, logs
}

// configured returns a Webhook posting to rc with extra config on top.
func configured(t testing.TB, rc *receiver, extra ...string) (*Webhook, *syncBuffer) {
	t.Helper()
	w, logs := newTestWebhook(t)
	config := map[string]string{"url": rc.URL + "/hook", "secret": testSecret}
	for i := 0; i+1 < len(extra); i += 2 {
		config[extra[i]] = extra[i+1]
	}
	if err := w.Configure(t.Context(), sdk.ConfigureRequest{Config: config}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	return w, logs
}

func pinMessage(id string) sdk.SendRequest {
	return sdk.SendRequest{
		ID: id, Attempt: id, Channel: "sms", To: "+41790000000",
		Subject: "Your sign-in code", Text: "Your code is 123456", Code: "123456",
		Metadata: map[string]string{"account": "acme", "expires_minutes": "10"},
	}
}

func TestSendPostsSignedJSON(t *testing.T) {
	rc := newReceiver(t)
	w, _ := configured(t, rc)
	// Recent enough for the receiver's window, fixed for the assertions.
	signedAt := time.Unix(time.Now().Unix(), 0)
	w.now = func() time.Time { return signedAt }

	req := sdk.SendRequest{
		ID: "att-1", Attempt: "att-1", Channel: "email", To: "ada@example.com", Subject: "Sign in",
		Text: "Open the link", HTML: "<a href=\"https://id.example.com/l/x?a=1&b=2\">Sign in</a>",
		Link: "https://id.example.com/l/x?a=1&b=2", Metadata: map[string]string{"account": "acme"},
	}
	if _, err := w.Send(t.Context(), req); err != nil {
		t.Fatalf("send: %v", err)
	}
	header, body := rc.lastCall(t)

	if err := Verify([]byte(testSecret), header, body, signedAt, time.Second); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for name, want := range map[string]string{
		"Content-Type":  "application/json",
		HeaderDelivery:  "att-1",
		HeaderTimestamp: strconv.FormatInt(signedAt.Unix(), 10),
		"User-Agent":    "flexauth-webhook/" + version,
	} {
		if got := header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	want := map[string]any{
		"id": "att-1", "channel": "email", "to": "ada@example.com", "subject": "Sign in",
		"text": "Open the link", "html": req.HTML, "link": req.Link, "code": "",
		"attempt": "att-1", "metadata": map[string]any{"account": "acme"}, "timestamp": float64(signedAt.Unix()),
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("body =\n %s\nwant\n %s", gotJSON, wantJSON)
	}
	if !bytes.Contains(body, []byte(`"link":"https://id.example.com/l/x?a=1&b=2"`)) {
		t.Errorf("link is escaped in %s", body)
	}
}

func TestMissingMetadataIsAnEmptyObject(t *testing.T) {
	rc := newReceiver(t)
	w, _ := configured(t, rc)
	req := pinMessage("att-1")
	req.Metadata = nil
	if _, err := w.Send(t.Context(), req); err != nil {
		t.Fatalf("send: %v", err)
	}
	_, body := rc.lastCall(t)
	if !bytes.Contains(body, []byte(`"metadata":{}`)) {
		t.Errorf("body %s lacks an empty metadata object", body)
	}
}

func TestAnswers(t *testing.T) {
	tests := []struct {
		status    int
		delivered bool
		permanent bool
	}{
		{status: http.StatusOK, delivered: true},
		{status: http.StatusAccepted, delivered: true},
		{status: http.StatusNoContent, delivered: true},
		{status: http.StatusBadRequest, permanent: true},
		{status: http.StatusUnauthorized, permanent: true},
		{status: http.StatusForbidden, permanent: true},
		{status: http.StatusNotFound, permanent: true},
		{status: http.StatusGone, permanent: true},
		{status: http.StatusUnprocessableEntity, permanent: true},
		{status: http.StatusMovedPermanently, permanent: true},
		{status: http.StatusTemporaryRedirect, permanent: true},
		{status: http.StatusRequestTimeout},
		{status: http.StatusTooManyRequests},
		{status: http.StatusInternalServerError},
		{status: http.StatusBadGateway},
		{status: http.StatusServiceUnavailable},
		{status: http.StatusGatewayTimeout},
	}
	for _, tt := range tests {
		kind := "temporary"
		switch {
		case tt.delivered:
			kind = "success"
		case tt.permanent:
			kind = "permanent"
		}
		t.Run(fmt.Sprintf("%d is %s", tt.status, kind), func(t *testing.T) {
			rc := newReceiver(t)
			w, _ := configured(t, rc)
			rc.setStatus(tt.status)
			_, err := w.Send(t.Context(), pinMessage("att-1"))
			switch {
			case tt.delivered:
				if err != nil {
					t.Fatalf("send: %v", err)
				}
			case err == nil:
				t.Fatal("send succeeded")
			case errors.Is(err, sdk.ErrPermanent) != tt.permanent:
				t.Fatalf("error %v: permanent = %v, want %v", err, !tt.permanent, tt.permanent)
			case !strings.Contains(err.Error(), strconv.Itoa(tt.status)):
				t.Errorf("error %q does not name the status", err)
			}
		})
	}
}

// Following a redirect would hand the code to a URL nobody configured.
func TestRedirectIsNotFollowed(t *testing.T) {
	target := newReceiver(t)
	redirector := httptest.NewServer(http.RedirectHandler(target.URL+"/hook", http.StatusPermanentRedirect))
	t.Cleanup(redirector.Close)
	w, _ := newTestWebhook(t)
	if err := w.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"url": redirector.URL, "secret": testSecret}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Send(t.Context(), pinMessage("att-1")); !errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("send through a redirect = %v, want permanent", err)
	}
	if n := target.postCount(); n != 0 {
		t.Fatalf("the redirect target got %d calls", n)
	}
}

func TestUnreachableReceiverIsTemporary(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more

	w, _ := newTestWebhook(t)
	if err := w.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"url": "http://" + addr + "/hook", "secret": testSecret}}); err != nil {
		t.Fatal(err)
	}
	_, err = w.Send(t.Context(), pinMessage("att-1"))
	if err == nil || errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("send to a closed port = %v, want a temporary error", err)
	}
}

func TestTimeout(t *testing.T) {
	t.Run("configured timeout bounds a hanging receiver", func(t *testing.T) {
		rc := newReceiver(t)
		w, _ := configured(t, rc, "timeout", "100ms")
		rc.Slow(t, true)
		start := time.Now()
		_, err := w.Send(t.Context(), pinMessage("att-1"))
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("send returned after %v, timeout is 100ms", d)
		}
		if err == nil || errors.Is(err, sdk.ErrPermanent) {
			t.Fatalf("send = %v, want a temporary error", err)
		}
		if !strings.Contains(err.Error(), "no answer within 100ms") {
			t.Errorf("error %q does not say the timeout expired", err)
		}
	})
	t.Run("caller's shorter deadline wins and stays a context error", func(t *testing.T) {
		rc := newReceiver(t)
		w, _ := configured(t, rc, "timeout", "1m")
		rc.Slow(t, true)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := w.Send(ctx, pinMessage("att-1"))
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("send returned after %v, deadline was 100ms", d)
		}
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sdk.ErrPermanent) {
			t.Fatalf("send = %v, want a temporary context.DeadlineExceeded", err)
		}
	})
	t.Run("an answer within the timeout is delivered", func(t *testing.T) {
		rc := newReceiver(t)
		w, _ := configured(t, rc, "timeout", "2s")
		rc.setDelay(50 * time.Millisecond)
		if _, err := w.Send(t.Context(), pinMessage("att-1")); err != nil {
			t.Fatalf("send: %v", err)
		}
	})
}

func TestFailedSendIsPostedAgainOnRetry(t *testing.T) {
	rc := newReceiver(t)
	w, _ := configured(t, rc)
	rc.Unavailable(t, true)
	if _, err := w.Send(t.Context(), pinMessage("att-1")); err == nil {
		t.Fatal("send to an unavailable receiver succeeded")
	}
	rc.Unavailable(t, false)
	if _, err := w.Send(t.Context(), pinMessage("att-1")); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n, d := rc.postCount(), rc.Delivered(t, "att-1"); n != 2 || d != 1 {
		t.Fatalf("receiver got %d calls and accepted %d, want 2 and 1", n, d)
	}
}

func TestInvalidRequestsArePermanentAndNotPosted(t *testing.T) {
	rc := newReceiver(t)
	w, _ := configured(t, rc)
	tests := []struct {
		name string
		edit func(*sdk.SendRequest)
	}{
		{"missing id", func(r *sdk.SendRequest) { r.ID = "" }},
		{"id with a line break", func(r *sdk.SendRequest) { r.ID = "att-1\r\nX-Injected: 1" }},
		{"missing channel", func(r *sdk.SendRequest) { r.Channel = "" }},
		{"missing recipient", func(r *sdk.SendRequest) { r.To = " " }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := pinMessage("att-1")
			tt.edit(&req)
			if _, err := w.Send(t.Context(), req); !errors.Is(err, sdk.ErrPermanent) {
				t.Fatalf("send = %v, want permanent", err)
			}
		})
	}
	if n := rc.postCount(); n != 0 {
		t.Fatalf("receiver got %d calls", n)
	}
}

func TestSendBeforeConfigureIsPermanent(t *testing.T) {
	w, _ := newTestWebhook(t)
	if _, err := w.Send(t.Context(), pinMessage("att-1")); !errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("send = %v, want permanent", err)
	}
}

// Logs and errors reach the host's logs and Temporal's history: the secret,
// the code, the link, the recipient and credentials in the URL must never
// be in them, whatever the outcome.
func TestLogsAndErrorsHoldNoSecrets(t *testing.T) {
	rc := newReceiver(t)
	const (
		password = "url-password-1234"
		token    = "query-token-5678"
		link     = "https://id.example.com/l/link-token-9999"
	)
	w, logs := newTestWebhook(t)
	url := strings.Replace(rc.URL, "http://", "http://operator:"+password+"@", 1) + "/hook?token=" + token
	if err := w.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"url": url, "secret": testSecret, "timeout": "200ms"}}); err != nil {
		t.Fatal(err)
	}
	req := pinMessage("")
	req.Link = link

	var errs []error
	send := func(id string) {
		req.ID, req.Attempt = id, id
		if _, err := w.Send(t.Context(), req); err != nil {
			errs = append(errs, err)
		}
	}
	send("ok")
	send("ok") // the "already delivered" path
	rc.setStatus(http.StatusBadRequest)
	send("refused")
	rc.setStatus(http.StatusServiceUnavailable)
	send("unavailable")
	rc.setStatus(0)
	rc.Slow(t, true)
	send("timeout")
	rc.Slow(t, false)
	rc.Close()
	send("unreachable")

	if len(errs) != 4 {
		t.Fatalf("got %d errors, want 4: %v", len(errs), errs)
	}
	// Configuration errors too: they quote what was wrong, not the value.
	errs = append(errs, w.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"url": url, "secret": testSecret[:20]}}))

	out := logs.String() + "\n" + errors.Join(errs...).Error()
	for _, secret := range []string{testSecret, testSecret[:20], req.Code, link, "link-token", req.To, password, token} {
		if strings.Contains(out, secret) {
			t.Errorf("logs or errors contain %q:\n%s", secret, out)
		}
	}
	// And they are still useful.
	for _, want := range []string{"webhook not delivered", "refused", "400", "503", "no answer within 200ms", "connection refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs and errors lack %q:\n%s", want, out)
		}
	}
}

func TestInfo(t *testing.T) {
	info, err := New().Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "webhook" || info.Version == "" || strings.Join(info.Channels, ",") != "email,sms" {
		t.Fatalf("info = %+v", info)
	}
}
