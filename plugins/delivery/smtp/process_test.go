package smtp

import (
	"errors"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/plugins/host"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// newPluginHost runs the built flexauth-smtp executable under the real
// plugin host, as the flexauth worker does.
func newPluginHost(t *testing.T, config map[string]string) *host.Host {
	t.Helper()
	h, err := host.New(testLogger(t), host.Spec{Name: "smtp", Command: []string{pluginBin}, Config: config})
	if err != nil {
		t.Fatalf("new host: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

func TestSendThroughThePluginProcess(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS, auth: true})
	h := newPluginHost(t, srv.config("starttls"))

	info, err := h.Info(t.Context(), "smtp")
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	if info.Name != "smtp" || len(info.Channels) != 1 || info.Channels[0] != "email" {
		t.Errorf("info = %+v", info)
	}

	req := linkRequest("att-process")
	resp, err := h.Send(t.Context(), "smtp", req)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if want := messageID(req.ID, "id.example.com"); resp.MessageID != want {
		t.Errorf("message id = %q, want %q", resp.MessageID, want)
	}
	// The host lost the answer and retries: the process remembers.
	if _, err := h.Send(t.Context(), "smtp", req); err != nil {
		t.Fatalf("retried send: %v", err)
	}
	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("server has %d messages, want 1", len(msgs))
	}
	p := parseMessage(t, msgs[0].raw)
	if !strings.Contains(p.parts["text/plain"], testLink) || !strings.Contains(p.parts["text/html"], htmlEscapedLink) {
		t.Errorf("the link is missing from a part:\n%s\n%s", p.parts["text/plain"], p.parts["text/html"])
	}
	if !msgs[0].tls || msgs[0].authUser != testUser {
		t.Errorf("tls = %v, user = %q", msgs[0].tls, msgs[0].authUser)
	}

	t.Run("a rejected recipient is permanent across the process boundary", func(t *testing.T) {
		srv.reject("eve@example.com", 550, "no such user")
		req := codeRequest("att-process-550")
		req.To = "eve@example.com"
		_, err := h.Send(t.Context(), "smtp", req)
		if !errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), "550") {
			t.Fatalf("error = %v, want permanent 550", err)
		}
	})
}

func TestBadConfigurationIsPermanentThroughTheHost(t *testing.T) {
	h := newPluginHost(t, map[string]string{"host": "smtp.example.com", "from": "id@example.com", "insecure_skip_verify": "true"})
	_, err := h.Send(t.Context(), "smtp", codeRequest("att-bad-config"))
	if !errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), "insecure_skip_verify") {
		t.Fatalf("error = %v, want permanent naming insecure_skip_verify", err)
	}
}
