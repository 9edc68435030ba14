package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/internal/historytest"
	"github.com/flexauth/flexauth/payloadcodec"
	"github.com/flexauth/flexauth/workflows"
)

// TestWorkflowHistoryHoldsNoPersonalDataInClear signs a user in with a PIN
// (one wrong code, then the right one) from a chosen IP and browser, then
// reads the attempt's history from Temporal as anyone with access to its
// database could: no payload holds the authid, the IP or the user agent,
// every payload is encrypted with the deployment's key, and the codec
// endpoint gives them back to an operator holding the key and a token.
func TestWorkflowHistoryHoldsNoPersonalDataInClear(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{trustedProxies: []string{"127.0.0.1", "::1"}})
	const (
		authid = "carmen.codec"
		ip     = "203.0.113.77"
		ua     = "CodecTestBrowser/7.3 (history check)"
	)
	h.Setup("vpn", []string{"pin"}, "low", authid, "pin")
	call := func(path string, body req) (int, apitest.StartSuccess) {
		t.Helper()
		raw, _ := json.Marshal(body)
		r, err := http.NewRequest(http.MethodPost, h.URL+path, bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("apikey", h.AppKey)
		r.Header.Set("User-Agent", ua)
		r.Header.Set("X-Forwarded-For", ip)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, err = io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		// StartSuccess holds check's answers too: result is their one field.
		return res.StatusCode, apitest.Decode[apitest.StartSuccess](t, apitest.Response{Status: res.StatusCode, Body: string(raw)})
	}
	status, out := call("/v1/start", req{"system": "vpn", "authid": authid})
	if status != http.StatusOK || out.Result != "success" {
		t.Fatalf("start = %d %v", status, out)
	}
	code := h.outbox.message(t, out.Attempt).Code
	wrong := "00000000"
	if code == wrong {
		wrong = "11111111"
	}
	if status, out = call("/v1/check", req{"system": "vpn", "authid": authid, "pin": wrong}); status != http.StatusForbidden {
		t.Fatalf("wrong code: check = %d %v", status, out)
	}
	if status, out = call("/v1/check", req{"system": "vpn", "authid": authid, "pin": code}); status != http.StatusOK || out.Result != "authenticated" {
		t.Fatalf("right code: check = %d %v", status, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	att, err := h.Store.LatestAttempt(ctx, deploytest.Account, "vpn", authid)
	if err != nil {
		t.Fatal(err)
	}
	wid := att.WorkflowID
	if strings.Contains(wid, authid) || strings.Contains(wid, "vpn") || len(wid) > 1000 {
		t.Fatalf("workflow id %q names the user or the system, or exceeds Temporal's 1000 bytes", wid)
	}
	var result workflows.AttemptResult
	if err := h.Temporal.GetWorkflow(ctx, wid, "").Get(ctx, &result); err != nil || result.State != workflows.StateAuthenticated {
		t.Fatalf("attempt result = %+v, %v", result, err)
	}
	// The attempt recorded what it saw: the IP really went into the workflow.
	if got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/"+authid, nil, http.StatusOK); got.LastIP != ip {
		t.Fatalf("last_ip = %v, want %s: the test's IP did not reach the attempt", got.LastIP, ip)
	}
	hist, err := historytest.Fetch(ctx, h.Temporal, wid)
	if err != nil {
		t.Fatal(err)
	}
	payloads := historytest.Payloads(hist)
	if len(payloads) < 5 {
		t.Fatalf("history holds %d payloads; expected the input, activity results, updates and the result", len(payloads))
	}
	secrets := []string{authid, ip, ua, authid + "@example.com"}
	for i, p := range payloads {
		if got := string(p.GetMetadata()["encoding"]); got != payloadcodec.EncodingEncrypted {
			t.Fatalf("payload %d is %q, not encrypted: %s", i, got, p.GetData())
		}
		if got := string(p.GetMetadata()[payloadcodec.MetadataKeyID]); got != h.Keys.PayloadKeyID() {
			t.Fatalf("payload %d names key %q, want %q", i, got, h.Keys.PayloadKeyID())
		}
		raw, err := proto.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(raw, []byte(s)) {
				t.Fatalf("payload %d holds %q in clear", i, s)
			}
		}
	}
	// Beyond payloads: the user, the IP and the browser appear nowhere in
	// the history, not even in the workflow's ID.
	whole, err := proto.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{authid, ip, ua} {
		if bytes.Contains(whole, []byte(s)) {
			t.Fatalf("the history holds %q in clear", s)
		}
	}

	// An operator reads the attempt's input through the codec endpoint.
	const token = "operator-token"
	codec := httptest.NewServer(payloadcodec.NewHandler(payloadcodec.New(h.Keys), payloadcodec.HandlerOptions{Token: token}))
	t.Cleanup(codec.Close)
	input := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(input) != 1 {
		t.Fatalf("the first event has %d input payloads, want the attempt input", len(input))
	}
	decode := func(auth string) (int, string) {
		t.Helper()
		body, err := protojson.Marshal(&commonpb.Payloads{Payloads: input})
		if err != nil {
			t.Fatal(err)
		}
		r, err := http.NewRequest(http.MethodPost, codec.URL+"/decode", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Namespace", "default")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(raw)
	}
	status, body := decode("Bearer " + token)
	if status != http.StatusOK {
		t.Fatalf("decode = %d %s", status, body)
	}
	var decoded commonpb.Payloads
	if err := protojson.Unmarshal([]byte(body), &decoded); err != nil || len(decoded.Payloads) != 1 {
		t.Fatalf("decode answered %s: %v", body, err)
	}
	var in workflows.AttemptInput
	if err := json.Unmarshal(decoded.Payloads[0].GetData(), &in); err != nil {
		t.Fatalf("decoded input %q: %v", decoded.Payloads[0].GetData(), err)
	}
	if in.AuthID != authid || in.IP != ip || in.UserAgent != ua {
		t.Fatalf("decoded input = %+v", in)
	}
	for _, auth := range []string{"", "Bearer not-the-token"} {
		status, body := decode(auth)
		if status != http.StatusUnauthorized || strings.Contains(body, authid) {
			t.Fatalf("decode with Authorization %q = %d %s, want 401", auth, status, body)
		}
	}
}

// TestWelcomeWorkflowHistoryHoldsNoTokenNorUser delivers a welcome link and
// reads its delivery workflow's history, decrypted with the deployment's
// key as an operator could: neither the link's token nor the user (authid,
// email) is in it, nor in its workflow ID; the input is the link's ID.
func TestWelcomeWorkflowHistoryHoldsNoTokenNorUser(t *testing.T) {
	h := newHarness(t)
	const authid, email = "wanda.welcome", "wanda@example.com"
	allowEmailLogin(h)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": authid, "email": email, "email_password_login": true}, http.StatusCreated)
	msg := welcomeFor(t, h, email, 1)
	token := strings.TrimPrefix(msg.Link, h.URL+"/w/")

	requested := auditEvents(h, "type=welcome.requested&authid="+authid)
	if len(requested) != 1 {
		t.Fatalf("welcome.requested events = %v", requested)
	}
	linkID := requested[0].Detail["link"].(string)
	wid := workflows.CredentialLinkWorkflowID(deploytest.Account, linkID)
	if strings.Contains(wid, authid) || strings.Contains(wid, email) {
		t.Fatalf("workflow id %q names the user", wid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var result workflows.CredentialLinkResult
	if err := h.Temporal.GetWorkflow(ctx, wid, "").Get(ctx, &result); err != nil || result.State != "sent" {
		t.Fatalf("delivery result = %+v, %v", result, err)
	}
	hist, err := historytest.Fetch(ctx, h.Temporal, wid)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := payloadcodec.New(h.Keys).Decode(historytest.Payloads(hist))
	if err != nil {
		t.Fatal(err)
	}
	if len(decoded) < 3 {
		t.Fatalf("history holds %d payloads; expected the input, the activity's and the result", len(decoded))
	}
	sawLinkID := false
	for i, p := range decoded {
		for _, s := range []string{token, authid, email} {
			if bytes.Contains(p.GetData(), []byte(s)) {
				t.Fatalf("decrypted payload %d holds %q: %s", i, s, p.GetData())
			}
		}
		sawLinkID = sawLinkID || bytes.Contains(p.GetData(), []byte(linkID))
	}
	whole, err := proto.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(whole, []byte(token)) || bytes.Contains(whole, []byte(authid)) || !sawLinkID {
		t.Fatal("the history holds the token or the user, or not the link's ID")
	}
}
