package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// maxResponseBytes bounds how much of an answer is read: Twilio's are a
// few kilobytes, and a misbehaving gateway must not fill our memory.
const maxResponseBytes = 64 << 10

// maxProviderMessage bounds how much of the provider's error message is
// quoted in our error, which ends up in logs and workflow histories.
const maxProviderMessage = 300

// temporaryCode reports Twilio error codes that mean "try again later"
// whatever the HTTP status a compatible provider pairs them with.
func temporaryCode(code int) bool {
	switch code {
	case 20429, // too many requests
		20500, // internal server error
		20503: // service unavailable
		return true
	}
	return false
}

// codeHint says in plain words what the common refusals mean, for the
// operator reading a failed delivery.
func codeHint(code int) string {
	switch code {
	case 20003:
		return "authentication failed"
	case 20404:
		return "not found: check account_sid and base_url"
	case 21211:
		return "invalid recipient number"
	case 21408:
		return "sending to this region is not enabled on the account"
	case 21606:
		return "the from number cannot send SMS"
	case 21610:
		return "recipient has unsubscribed by replying STOP"
	case 21614:
		return "recipient is not a mobile number"
	}
	return ""
}

// apiError is Twilio's JSON error body.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// created is the part of Twilio's 201 answer the plugin uses.
type created struct {
	SID string `json:"sid"`
}

// post sends one message and returns the provider's message SID. Errors are
// permanent when the same request can never succeed, temporary otherwise.
func (g *Gateway) post(ctx context.Context, c *config, req sdk.SendRequest, body string) (string, error) {
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	form := url.Values{"To": {req.To}, "Body": {body}}
	if c.messagingService != "" {
		form.Set("MessagingServiceSid", c.messagingService)
	} else {
		form.Set("From", c.from)
	}
	hreq, err := http.NewRequestWithContext(reqCtx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	hreq.SetBasicAuth(c.accountSID, c.authToken)
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", "flexauth-sms/"+version)

	resp, err := g.client.Do(hreq)
	if err != nil {
		// Network errors and timeouts are temporary. The request may
		// still have reached the provider; see the package
		// documentation for what that means.
		if ctx.Err() == nil && reqCtx.Err() != nil {
			return "", fmt.Errorf("provider did not answer within the %s %s: %w", keyTimeout, c.timeout, err)
		}
		return "", fmt.Errorf("post to provider: %w", err)
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	// Drain what is left so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The message is accepted; an unreadable answer must not turn
		// into an error, or the retry would text the user twice.
		var ok created
		if readErr != nil || json.Unmarshal(raw, &ok) != nil || ok.SID == "" {
			g.logger.Warn("provider accepted the message but its answer has no sid", "status", resp.StatusCode)
		}
		return ok.SID, nil
	}
	if readErr != nil {
		raw = nil
	}
	return "", refusal(resp, raw, newRedactor(c, req, body))
}

// refusal turns a non-2xx answer into an error: temporary for 408, 425,
// 429 and 5xx (and Twilio codes saying the same), permanent for the rest,
// which the same request would meet again.
func refusal(resp *http.Response, raw []byte, redact *strings.Replacer) error {
	var apiErr apiError
	// A body that is not Twilio's JSON (a proxy's HTML page) is not quoted:
	// there is no telling what it holds.
	hasBody := json.Unmarshal(raw, &apiErr) == nil && (apiErr.Code != 0 || apiErr.Message != "")

	desc := "HTTP " + strconv.Itoa(resp.StatusCode)
	if hasBody && apiErr.Code != 0 {
		desc += ", error " + strconv.Itoa(apiErr.Code)
		if hint := codeHint(apiErr.Code); hint != "" {
			desc += " (" + hint + ")"
		}
	}
	if hasBody && apiErr.Message != "" {
		desc += ": " + truncate(redact.Replace(apiErr.Message), maxProviderMessage)
	}
	if hasBody && apiErr.MoreInfo != "" {
		desc += " [" + truncate(apiErr.MoreInfo, maxProviderMessage) + "]"
	}

	status := resp.StatusCode
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout,
		status == http.StatusTooEarly, status >= 500, temporaryCode(apiErr.Code):
		// Temporary: the host's caller retries. The provider's wish is
		// passed on in words; the retry policy is not ours to set.
		if wait, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			desc += "; provider asks to retry after " + wait.String()
		}
		if status == http.StatusTooManyRequests || apiErr.Code == 20429 {
			return fmt.Errorf("provider is rate limiting: %s", desc)
		}
		return fmt.Errorf("provider unavailable: %s", desc)
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return sdk.Permanent(fmt.Errorf("provider refused the credentials (check %s and %s): %s", keyAccountSID, keyAuthToken, desc))
	case status >= 300 && status < 400:
		return sdk.Permanent(fmt.Errorf("provider redirected to %q (check %s): %s", resp.Header.Get("Location"), keyBaseURL, desc))
	default:
		return sdk.Permanent(fmt.Errorf("provider refused the message: %s", desc))
	}
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now).Round(time.Second)), true
	}
	return 0, false
}

// newRedactor hides what must not reach logs should the provider quote it
// back: Twilio's messages name the recipient ("The 'To' number +1... is
// not a valid phone number"), and a gateway might echo anything.
func newRedactor(c *config, req sdk.SendRequest, body string) *strings.Replacer {
	var pairs []string
	for _, secret := range []string{body, req.Link, req.Code, c.authToken} {
		if secret != "" {
			pairs = append(pairs, secret, "[redacted]")
		}
	}
	pairs = append(pairs, req.To, maskNumber(req.To))
	return strings.NewReplacer(pairs...)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
