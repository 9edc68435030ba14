package sms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

const (
	recipient = "+15555550100"
	testCode  = "493817"
	testLink  = "https://id.example.com/l/tok-very-secret"
)

// newGateway returns a Gateway configured for f (with overrides; an empty
// value removes the key) and the buffer its logs go to.
func newGateway(t *testing.T, f *fakeTwilio, overrides map[string]string) (*Gateway, *bytes.Buffer) {
	t.Helper()
	g := New()
	var logs bytes.Buffer
	g.logger = slog.New(slog.NewJSONHandler(&logs, nil))
	cfg := f.config()
	for k, v := range overrides {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	if err := g.Configure(t.Context(), sdk.ConfigureRequest{Config: cfg}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	return g, &logs
}

func pinRequest(id, to string) sdk.SendRequest {
	return sdk.SendRequest{
		ID: id, Attempt: id, Channel: "sms", To: to,
		Subject: "Your sign-in code for VPN",
		Text:    testCode + " is your VPN sign-in code. It expires in 10 minutes.",
		Code:    testCode,
		Metadata: map[string]string{
			"account": "acme", "system": "VPN", "method": "pin", "expires_minutes": "10",
		},
	}
}

func linkRequest(id, to string) sdk.SendRequest {
	return sdk.SendRequest{
		ID: id, Attempt: id, Channel: "sms", To: to,
		Subject: "Your sign-in link for VPN",
		Text:    "Sign in to VPN within 15 minutes:\n" + testLink,
		Link:    testLink,
		Metadata: map[string]string{
			"account": "acme", "system": "VPN", "method": "passwordless", "expires_minutes": "15",
		},
	}
}

func TestSendDeliversTheMessage(t *testing.T) {
	tests := []struct {
		name     string
		req      sdk.SendRequest
		wantBody string
	}{
		{
			name:     "a code is sent as the host rendered it",
			req:      pinRequest("att-1", recipient),
			wantBody: testCode + " is your VPN sign-in code. It expires in 10 minutes.",
		},
		{
			name:     "a link is sent as the host rendered it",
			req:      linkRequest("att-1", recipient),
			wantBody: "Sign in to VPN within 15 minutes:\n" + testLink,
		},
		{
			name: "a message without code or link is sent as its text",
			req: sdk.SendRequest{
				ID: "att-1", Channel: "sms", To: recipient, Text: "  Your account was locked.\n",
			},
			wantBody: "Your account was locked.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTwilio(t)
			g, _ := newGateway(t, f, nil)
			resp, err := g.Send(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			got := f.accepted()
			if len(got) != 1 {
				t.Fatalf("provider accepted %d messages, want 1", len(got))
			}
			want := accepted{SID: got[0].SID, To: recipient, From: testFrom, Body: tt.wantBody}
			if got[0] != want {
				t.Errorf("message = %+v\nwant      %+v", got[0], want)
			}
			if !strings.HasPrefix(resp.MessageID, "SM") || resp.MessageID != got[0].SID {
				t.Errorf("message id = %q, want the provider's sid %q", resp.MessageID, got[0].SID)
			}
		})
	}
}

func TestMessagingServiceSendsNoFrom(t *testing.T) {
	f := newFakeTwilio(t)
	g, _ := newGateway(t, f, map[string]string{"from": testService})
	if _, err := g.Send(t.Context(), pinRequest("att-1", recipient)); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := f.accepted()
	if len(got) != 1 || got[0].MessagingServiceSid != testService || got[0].From != "" {
		t.Fatalf("accepted = %+v, want one message with MessagingServiceSid %s and no From", got, testService)
	}
}

func TestProviderAnswers(t *testing.T) {
	tests := []struct {
		name          string
		to            string
		status        int    // the fake answers this to everything, if set
		body          string // with status; Twilio's JSON error if empty
		header        http.Header
		token         string // a wrong auth token, if set
		wantPermanent bool
		wantInError   []string
	}{
		{name: "invalid number is permanent", to: numberInvalid, wantPermanent: true,
			wantInError: []string{"HTTP 400", "21211", "invalid recipient number", "+1500***0001"}},
		{name: "region not enabled is permanent", to: numberNoRegion, wantPermanent: true,
			wantInError: []string{"21408", "region"}},
		{name: "unsubscribed recipient is permanent", to: numberUnsubscribed, wantPermanent: true,
			wantInError: []string{"21610", "unsubscribed"}},
		{name: "landline is permanent", to: numberNotMobile, wantPermanent: true,
			wantInError: []string{"21614", "not a mobile number"}},
		{name: "bad credentials are permanent", token: "wrong-token", wantPermanent: true,
			wantInError: []string{"HTTP 401", "20003", "auth_token"}},
		{name: "forbidden is permanent", status: http.StatusForbidden, wantPermanent: true,
			wantInError: []string{"HTTP 403", "credentials"}},
		{name: "unknown account is permanent", status: http.StatusNotFound, wantPermanent: true,
			wantInError: []string{"HTTP 404"}},
		{name: "internal server error is temporary", status: http.StatusInternalServerError,
			wantInError: []string{"HTTP 500", "unavailable"}},
		{name: "service unavailable is temporary and passes on Retry-After", status: http.StatusServiceUnavailable,
			header: http.Header{"Retry-After": {"120"}}, wantInError: []string{"HTTP 503", "retry after 2m0s"}},
		{name: "too many requests is temporary and passes on Retry-After", status: http.StatusTooManyRequests,
			body: twilioError(20429, 429, "Too Many Requests"), header: http.Header{"Retry-After": {"7"}},
			wantInError: []string{"rate limiting", "HTTP 429", "20429", "retry after 7s"}},
		{name: "a proxy's HTML page is temporary and not quoted", status: http.StatusBadGateway,
			body: "<html>upstream " + recipient + " down</html>", wantInError: []string{"HTTP 502"}},
		{name: "a redirect is permanent and blames base_url", status: http.StatusMovedPermanently,
			body: "moved", header: http.Header{"Location": {"https://elsewhere.example/"}}, wantPermanent: true,
			wantInError: []string{"HTTP 301", "base_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTwilio(t)
			if tt.status != 0 {
				f.fail(tt.status, tt.body, tt.header)
			}
			overrides := map[string]string{}
			if tt.token != "" {
				overrides["auth_token"] = tt.token
			}
			g, logs := newGateway(t, f, overrides)
			to := tt.to
			if to == "" {
				to = recipient
			}
			_, err := g.Send(t.Context(), pinRequest("att-1", to))
			if err == nil {
				t.Fatal("send succeeded, want an error")
			}
			t.Logf("error: %v", err)
			if got := errors.Is(err, sdk.ErrPermanent); got != tt.wantPermanent {
				t.Errorf("permanent = %v, want %v (error: %v)", got, tt.wantPermanent, err)
			}
			for _, want := range tt.wantInError {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			for _, s := range []string{err.Error(), logs.String()} {
				if leaked := hasSecret(s, tt.token, testCode, to); leaked != "" {
					t.Errorf("%q leaks %q", s, leaked)
				}
			}
			// The plugin never retries by itself: one call, one request.
			if n := f.requestCount(); n != 1 {
				t.Errorf("provider saw %d requests, want 1", n)
			}
			if n := len(f.accepted()); n != 0 {
				t.Errorf("provider accepted %d messages, want 0", n)
			}
		})
	}
}

func TestInvalidRequestsAreRefusedBeforeSending(t *testing.T) {
	tests := []struct {
		name string
		edit func(*sdk.SendRequest)
	}{
		{name: "national format", edit: func(r *sdk.SendRequest) { r.To = "5555550100" }},
		{name: "spaces", edit: func(r *sdk.SendRequest) { r.To = "+1 555 555 0100" }},
		{name: "dashes", edit: func(r *sdk.SendRequest) { r.To = "+1-555-555-0100" }},
		{name: "seven digits", edit: func(r *sdk.SendRequest) { r.To = "+1234567" }},
		{name: "sixteen digits", edit: func(r *sdk.SendRequest) { r.To = "+1234567890123456" }},
		{name: "country code 0", edit: func(r *sdk.SendRequest) { r.To = "+0155555501" }},
		{name: "email address", edit: func(r *sdk.SendRequest) { r.To = "ada@example.com" }},
		{name: "no recipient", edit: func(r *sdk.SendRequest) { r.To = "" }},
		{name: "no id", edit: func(r *sdk.SendRequest) { r.ID = "" }},
		{name: "email channel", edit: func(r *sdk.SendRequest) { r.Channel = "email" }},
		{name: "nothing to say", edit: func(r *sdk.SendRequest) { r.Code, r.Text = "", "" }},
		{name: "longer than Twilio's 1600 characters", edit: func(r *sdk.SendRequest) { r.Code, r.Text = "", strings.Repeat("x", 1601) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTwilio(t)
			g, _ := newGateway(t, f, nil)
			req := pinRequest("att-1", recipient)
			tt.edit(&req)
			_, err := g.Send(t.Context(), req)
			if !errors.Is(err, sdk.ErrPermanent) {
				t.Fatalf("error = %v, want permanent", err)
			}
			if n := f.requestCount(); n != 0 {
				t.Fatalf("provider saw %d requests, want 0", n)
			}
		})
	}
}

func TestE164LengthsAccepted(t *testing.T) {
	for _, to := range []string{"+12345678", "+123456789012345"} {
		t.Run(to, func(t *testing.T) {
			f := newFakeTwilio(t)
			g, _ := newGateway(t, f, nil)
			if _, err := g.Send(t.Context(), pinRequest("att-1", to)); err != nil {
				t.Fatalf("send: %v", err)
			}
		})
	}
}

func TestRetryAfterATemporaryFailureIsSent(t *testing.T) {
	f := newFakeTwilio(t)
	g, _ := newGateway(t, f, nil)
	req := pinRequest("att-1", recipient)
	f.fail(http.StatusServiceUnavailable, "", nil)
	if _, err := g.Send(t.Context(), req); err == nil || errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("error = %v, want temporary", err)
	}
	f.fail(0, "", nil)
	if _, err := g.Send(t.Context(), req); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(f.accepted()); n != 1 {
		t.Fatalf("provider accepted %d messages, want 1", n)
	}
}

func TestSlowProviderIsTemporary(t *testing.T) {
	tests := []struct {
		name    string
		timeout string        // the plugin's setting
		caller  time.Duration // the caller's deadline
	}{
		{name: "the timeout setting bounds a request", timeout: "100ms", caller: time.Minute},
		{name: "the caller's deadline bounds a request", timeout: "1m", caller: 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTwilio(t)
			f.slow(5 * time.Second)
			g, _ := newGateway(t, f, map[string]string{"timeout": tt.timeout})
			ctx, cancel := context.WithTimeout(t.Context(), tt.caller)
			defer cancel()
			start := time.Now()
			_, err := g.Send(ctx, pinRequest("att-1", recipient))
			if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sdk.ErrPermanent) {
				t.Fatalf("error = %v, want a temporary deadline error", err)
			}
			t.Logf("error: %v", err)
			if took := time.Since(start); took > 2*time.Second {
				t.Fatalf("send took %s, want about 100ms", took)
			}
		})
	}
}

func TestLogsNameTheSIDAndMaskedNumberOnly(t *testing.T) {
	f := newFakeTwilio(t)
	g, logs := newGateway(t, f, nil)
	for _, req := range []sdk.SendRequest{pinRequest("att-1", recipient), linkRequest("att-2", recipient)} {
		if _, err := g.Send(t.Context(), req); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	out := logs.String()
	if leaked := hasSecret(out, testCode, testLink, recipient); leaked != "" {
		t.Errorf("logs leak %q:\n%s", leaked, out)
	}
	for _, want := range []string{f.accepted()[0].SID, f.accepted()[1].SID, "+1555***0100", "att-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs do not mention %q:\n%s", want, out)
		}
	}
}

func TestUnconfiguredSendIsPermanent(t *testing.T) {
	_, err := New().Send(t.Context(), pinRequest("att-1", recipient))
	if !errors.Is(err, sdk.ErrPermanent) || !errors.Is(err, errNotConfigured) {
		t.Fatalf("error = %v, want permanent %v", err, errNotConfigured)
	}
}

func TestRejectedConfigurationKeepsThePrevious(t *testing.T) {
	f := newFakeTwilio(t)
	g, _ := newGateway(t, f, nil)
	if err := g.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"account_sid": testAccountSID}}); !errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("configure error = %v, want permanent", err)
	}
	if _, err := g.Send(t.Context(), pinRequest("att-1", recipient)); err != nil {
		t.Fatalf("send with the previous configuration: %v", err)
	}
}

func TestBaseURLMayCarryAPathPrefix(t *testing.T) {
	var gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.Path
		answer(w, http.StatusCreated, `{"sid":"SM1"}`)
	}))
	defer srv.Close()
	g := New()
	g.logger = slog.New(slog.DiscardHandler)
	err := g.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{
		"account_sid": testAccountSID, "auth_token": testAuthToken, "from": testFrom,
		"base_url": srv.URL + "/api/laml/",
	}})
	if err != nil {
		t.Fatalf("configure: %v", err)
	}
	if _, err := g.Send(t.Context(), pinRequest("att-1", recipient)); err != nil {
		t.Fatalf("send: %v", err)
	}
	if want := "/api/laml/2010-04-01/Accounts/" + testAccountSID + "/Messages.json"; gotPath != want {
		t.Fatalf("path = %q, want %q", gotPath, want)
	}
}

func TestAcceptedWithoutSIDIsStillDelivered(t *testing.T) {
	// A compatible gateway that answers 200 with no JSON has still taken
	// the message; an error here would text the user twice on retry.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, "OK")
	}))
	defer srv.Close()
	g := New()
	g.logger = slog.New(slog.DiscardHandler)
	err := g.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{
		"account_sid": testAccountSID, "auth_token": testAuthToken, "from": testFrom, "base_url": srv.URL,
	}})
	if err != nil {
		t.Fatalf("configure: %v", err)
	}
	resp, err := g.Send(t.Context(), pinRequest("att-1", recipient))
	if err != nil || resp.MessageID != "" {
		t.Fatalf("send = %+v, %v; want success without message id", resp, err)
	}
}

func TestInfo(t *testing.T) {
	info, err := New().Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "sms" || len(info.Channels) != 1 || info.Channels[0] != "sms" {
		t.Fatalf("info = %+v", info)
	}
}
